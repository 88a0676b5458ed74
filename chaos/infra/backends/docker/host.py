"""The docker backend on the host's network: the local backend's cluster, each process in a container.

On machines where containers must use the host's network (no bridge network may be made, as on the
machines this project is built on), the simplest faithful design is the local backend itself with
its processes moved into containers: the same loopback ports (``Topology.allocate``), the same
per-role listeners and proxies, the same broker settings and SASL/ACL security, the same cluster
folder and ``cluster.json``. Only what runs each part changes: Kafka from its image (the official
one, or ``evchaos/kafka`` built from our jars), configured through ``KAFKA_*`` variables as both
images read them, and Toxiproxy from ``evchaos/toxiproxy``. Faults stop, kill and pause the
containers through the same ``Lifecycle`` (``chaos.infra.container.ContainerService``).
"""

from __future__ import annotations

from pathlib import Path

from chaos.infra.backends.docker.config import kafka_env
from chaos.infra.backends.docker.images import (
    KAFKA_IMAGE,
    OFFICIAL_KAFKA_IMAGE,
    TOXIPROXY_IMAGE,
    ImageError,
    has_image,
)
from chaos.infra.backends.local import LocalBackend
from chaos.infra.container import container_service
from chaos.infra.install import Installation
from chaos.infra.kafka_broker import broker_ready, server_properties
from chaos.infra.security import ClusterSecurity
from chaos.infra.service import Service
from chaos.infra.topology import Topology
from chaos.infra.toxiproxy.server import toxiproxy_ready


def kafka_image() -> str:
    """The official image when the engine has it; else the one built from our jars; else the official
    one again (the engine pulls it, where a registry is reachable)."""
    if has_image(OFFICIAL_KAFKA_IMAGE) or not has_image(KAFKA_IMAGE):
        return OFFICIAL_KAFKA_IMAGE
    return KAFKA_IMAGE


class HostDockerBackend(LocalBackend):
    """A ``LocalBackend`` whose brokers and Toxiproxy run in containers on the host's network."""

    def __init__(
        self, workdir: Path, topology: Topology, inst: Installation | None = None,
        security: ClusterSecurity | None = None, kafka: str | None = None,
    ) -> None:
        self.kafka_image = kafka or kafka_image()
        super().__init__(workdir, topology, inst, security)

    def _toxiproxy_service(self) -> Service:
        host, port = self.topology.host, self.topology.toxiproxy_port
        return container_service(
            "toxiproxy", TOXIPROXY_IMAGE, ["-host", host, "-port", str(port)], self.workdir,
            env={"LOG_LEVEL": "warn"}, ready=toxiproxy_ready(host, port), ready_timeout=30.0,
        )

    def _broker_service(self, node_id: int) -> Service:
        data_dir = self.workdir / f"broker-{node_id}-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        settings = server_properties(self.topology, node_id, data_dir, self.security)
        return container_service(
            f"broker-{node_id}", self.kafka_image, [], self.workdir, env=kafka_env(settings),
            ready=broker_ready(self.topology, node_id, self.security), ready_timeout=120.0,
            data_dirs=[data_dir], stop_timeout=20.0,
        )

    def _prepare(self) -> None:
        """The images must be there (the Kafka one may be pulled); storage is formatted in the container."""
        if not has_image(TOXIPROXY_IMAGE):
            raise ImageError(f"the docker backend needs the image {TOXIPROXY_IMAGE}: build it with "
                             "`evchaos images build` (`--offline` where no registry is reachable)")
