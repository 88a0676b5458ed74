"""The ``DockerBackend`` itself: start Toxiproxy then the brokers, expose their endpoints, remove it all.

The order is what makes the per-role trick work: Toxiproxy's published host ports must be known
before a broker is configured, because each broker advertises them. Teardown is forced and
best-effort, since the containers are throw-away and a half-started cluster must not be left behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from chaos.infra.backends.base import Infra, say
from chaos.infra.backends.docker.broker import DockerBroker
from chaos.infra.backends.docker.config import (
    INTERNAL_PORT,
    TOXIPROXY_API_PORT,
    broker_host,
    container_proxies,
    kafka_env,
    kafka_properties,
    layout,
)
from chaos.infra.backends.docker.engine import KAFKA_IMAGE, TOXIPROXY_IMAGE, require_engine
from chaos.infra.backends.docker.images import build_all
from chaos.infra.endpoints import BrokerInfo, Endpoints
from chaos.infra.lifeline import container_labels
from chaos.infra.topology import DEFAULT_ROLES, Topology
from chaos.infra.toxiproxy.client import ToxiproxyClient, ToxiproxyError


@dataclass
class _Containers:
    network: Any
    toxiproxy: Any
    brokers: list[DockerBroker]


class DockerBackend(Infra):
    """Kafka + Toxiproxy containers on a private network; ``down()`` removes them all."""

    def __init__(self, topology: Topology, parts: _Containers) -> None:
        self.topology = topology
        self._parts = parts
        self._removed = False
        host = parts.toxiproxy.get_container_host_ip()
        self.toxiproxy = ToxiproxyClient(f"http://{host}:{parts.toxiproxy.get_exposed_port(TOXIPROXY_API_PORT)}")

    @classmethod
    def start(cls, brokers: int = 1, roles: tuple[str, ...] = DEFAULT_ROLES) -> DockerBackend:
        """Start Toxiproxy, then the brokers; return once every broker is ready.

        Raises ``DockerEngineUnavailable`` before creating anything when no engine is reachable.
        """
        require_engine()
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.network import Network

        topology = layout(brokers, roles)
        build_all(["toxiproxy"])
        network = Network().create()
        toxiproxy = (
            DockerContainer(TOXIPROXY_IMAGE).with_network(network).with_network_aliases("toxiproxy")
            .with_kwargs(labels=container_labels())  # the run's mark: its watchdog removes what it left
            .with_exposed_ports(TOXIPROXY_API_PORT, *(link.proxy_port for link in topology.links))
        )
        parts = _Containers(network, toxiproxy, [])
        started = time.monotonic()
        try:
            toxiproxy.start()
            backend = cls(topology, parts)
            backend._wait_toxiproxy()
            backend.toxiproxy.populate(container_proxies(topology))
            host = toxiproxy.get_container_host_ip()
            for n in topology.node_ids:
                advertised = {
                    link.role: f"{host}:{toxiproxy.get_exposed_port(link.proxy_port)}"
                    for link in topology.links_of(node_id=n)
                }
                container = (
                    DockerContainer(KAFKA_IMAGE).with_network(network).with_network_aliases(broker_host(n))
                    .with_kwargs(labels=container_labels())
                    .with_name(f"evchaos-{broker_host(n)}-{network.name[:8]}")
                    .with_exposed_ports(INTERNAL_PORT)
                )
                for key, value in kafka_env(kafka_properties(topology, n, advertised)).items():
                    container.with_env(key, value)
                container.start()
                parts.brokers.append(DockerBroker(n, container, len(topology.node_ids)))
            for broker in parts.brokers:
                broker.wait_ready()
                say(f"{broker.name} ready in a container ({time.monotonic() - started:.1f}s)")
            return backend
        except BaseException:
            _remove(parts)
            raise

    def _wait_toxiproxy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.toxiproxy.version()
                return
            except ToxiproxyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def brokers(self) -> list[DockerBroker]:  # type: ignore[override]
        return self._parts.brokers

    @property
    def endpoints(self) -> Endpoints:  # type: ignore[override]
        toxiproxy = self._parts.toxiproxy
        host = toxiproxy.get_container_host_ip()

        def bootstrap(role: str) -> str:
            links = self.topology.links_of(role)
            return ",".join(f"{host}:{toxiproxy.get_exposed_port(link.proxy_port)}" for link in links)

        return Endpoints(
            roles={role: bootstrap(role) for role in self.topology.roles},
            toxiproxy_api=self.toxiproxy.api,
            brokers=[BrokerInfo(b.node_id, b.internal) for b in self._parts.brokers],
        )

    def down(self, graceful: bool = True) -> None:
        """Remove every container and the network (the data goes with them); a second call does nothing.

        Removal is always forced: the containers are throw-away, so ``graceful`` changes nothing here.
        """
        if not self._removed:
            self._removed = True
            _remove(self._parts)


def _remove(parts: _Containers) -> None:
    """Best-effort teardown in reverse order; a container that is already gone is not an error."""
    for container in [*(b.container for b in reversed(parts.brokers)), parts.toxiproxy]:
        try:
            container.stop()
        except Exception as exc:
            say(f"could not remove a container: {exc}")
    parts.brokers.clear()
    try:
        parts.network.remove()
    except Exception as exc:
        say(f"could not remove docker network {parts.network.name}: {exc}")
