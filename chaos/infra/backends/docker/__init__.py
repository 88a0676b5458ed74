"""The ``docker`` backend: the same topology as ``local``, in containers, on one of two networks.

- **host** (``host.HostDockerBackend``; the default where the engine has no bridge network, as on
  machines started with ``dockerd --bridge=none``): the local backend's own cluster, loopback ports,
  settings and SASL security, with the brokers and Toxiproxy in containers on the host's network.
- **bridge** (``backend.DockerBackend``, testcontainers): Kafka and Toxiproxy on a private Docker
  network, the proxies published on host ports. Every broker has one listener per client role, and
  that listener advertises the host-side address of the Toxiproxy proxy dedicated to the (role,
  broker) pair, so a client of role X only ever learns X's proxies and a fault can cut exactly one
  role. The harness reads metadata over each broker's published internal port (``BrokerInfo.internal``).

Either way the services under test run as local processes and reach Kafka only through Toxiproxy.
Images (``images``) come from the project's Dockerfiles, with public bases or, ``--offline``, bases
made from Debian packages; the engine (``daemon``) can be installed and started by the harness.

Modules: ``engine`` (is an engine there), ``daemon`` (install, start, stop one), ``images`` (build
them), ``config`` (the bridge layout and each broker's settings, offline), ``broker`` (a bridge
broker container's lifecycle), ``backend`` (the bridge backend), ``host`` (the host-network backend).
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
