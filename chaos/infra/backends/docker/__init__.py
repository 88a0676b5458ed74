"""The ``docker`` backend: the same topology as ``local``, in containers started with testcontainers.

Kafka runs from the official ``apache/kafka`` image (KRaft, 1 or 3 nodes, each broker and controller
in one container) and Toxiproxy built from its Go module by ``docker/toxiproxy.Dockerfile`` (the same
pinned source as the local backend), all on one private Docker network.
The per-role trick is the same as in ``chaos.infra.topology``: every broker has one listener per client role,
and that listener advertises the host-side address of the Toxiproxy proxy dedicated to the (role,
broker) pair, so a client of role X only ever learns X's proxies and a fault can cut exactly one role.

Toxiproxy starts first so its published host ports are known before any broker is configured; the
brokers then advertise those ports. Brokers talk to each other and to the controller quorum directly
on the Docker network (``kafka-N``). The harness reads metadata over each broker's published internal
port (``BrokerInfo.internal``): that address answers metadata requests, but the brokers it lists are
advertised under their network names, so it is for raw metadata only, not for a Kafka client.

Containers run where the Docker engine runs; the services under test run as local processes and reach
Kafka only through Toxiproxy's published ports.

Modules: ``engine`` (is an engine there, and the images), ``config`` (ports, topology and each broker's
settings, offline), ``broker`` (a broker container's lifecycle), ``backend`` (starting and removing it all).
"""

from chaos.infra.backends.docker.backend import DockerBackend
from chaos.infra.backends.docker.broker import DockerBroker
from chaos.infra.backends.docker.config import (
    DATA_DIR,
    broker_host,
    container_proxies,
    kafka_env,
    kafka_properties,
    layout,
)
from chaos.infra.backends.docker.engine import KAFKA_IMAGE, TOXIPROXY_IMAGE, DockerEngineUnavailable

__all__ = [
    "DATA_DIR",
    "KAFKA_IMAGE",
    "TOXIPROXY_IMAGE",
    "DockerBackend",
    "DockerBroker",
    "DockerEngineUnavailable",
    "broker_host",
    "container_proxies",
    "kafka_env",
    "kafka_properties",
    "layout",
]
