"""Every pinned version of the infrastructure, in one place.

Changing a version here is all it takes: ``evchaos infra install`` resolves into a cache folder named
after these pins, so two pins never mix and an unchanged pin costs nothing on the next run.
"""

KAFKA_VERSION = "4.1.1"
"""org.apache.kafka:kafka_2.13 from Maven Central (KRaft only; brokers need Java 17+)."""

LOG4J_VERSION = "2.25.3"
"""log4j-core + log4j-slf4j2-impl, the logging backend the Kafka jar leaves to the user."""

SLF4J_VERSION = "2.0.17"
"""org.slf4j:slf4j-api, pinned over the 1.7.36 Kafka brings: log4j-slf4j2-impl binds only the 2.x
API, and with 1.7.36 on the classpath every broker logged nothing at all (slf4j's "NOP logger"), so
a broker that did not become ready left an empty log to read."""

TOXIPROXY_VERSION = "v2.12.0"
"""github.com/Shopify/toxiproxy/v2/cmd/server, built from its Go module (needs Go 1.23+)."""

ALLURE_VERSION = "3.18.0"
"""npm package ``allure`` (Allure 3 command line: Node only, no Java)."""

MIN_JAVA = 17
MIN_GO = (1, 23)
