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
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.infra import versions
from chaos.infra.backends.base import Infra, say
from chaos.infra.endpoints import BrokerInfo, Endpoints
from chaos.infra.kafka_broker import CLUSTER_ID, JVM_OPTS, server_properties
from chaos.infra.kafka_protocol import fetch_metadata
from chaos.infra.topology import DEFAULT_ROLES, Link, Topology, validate_roles
from chaos.infra.toxiproxy.client import Proxy, ToxiproxyClient, ToxiproxyError

KAFKA_IMAGE = f"apache/kafka:{versions.KAFKA_VERSION}"
TOXIPROXY_IMAGE = f"evchaos/toxiproxy:{versions.TOXIPROXY_VERSION.lstrip('v')}"
TOXIPROXY_DOCKERFILE = "docker/toxiproxy.Dockerfile"
REPO_ROOT = Path(__file__).resolve().parents[2]
TOXIPROXY_API_PORT = 8474
CONTROLLER_PORT = 19093
INTERNAL_PORT = 19092
ROLE_PORT_BASE = 19100
"""Role listener ``i`` of every broker listens on ``19100 + i`` inside its own container."""
PROXY_PORT_BASE = 21000
"""Proxy for (role ``i``, broker ``n``) listens on ``21000 + 100 n + i`` inside the Toxiproxy container."""
DATA_DIR = "/var/lib/kafka/data"


def build_toxiproxy_image() -> None:
    """Build (or reuse from the engine's cache) the Toxiproxy image from ``docker/toxiproxy.Dockerfile``."""
    from testcontainers.core.docker_client import DockerClient

    say(f"building {TOXIPROXY_IMAGE} from {TOXIPROXY_DOCKERFILE} (cached after the first build)")
    DockerClient().build(
        path=str(REPO_ROOT), tag=TOXIPROXY_IMAGE, dockerfile=TOXIPROXY_DOCKERFILE,
        buildargs={"TOXIPROXY_VERSION": versions.TOXIPROXY_VERSION},
    )


class DockerEngineUnavailable(RuntimeError):
    """No Docker engine answers (no daemon, no socket, no permission): the docker backend cannot run."""


def broker_host(node_id: int) -> str:
    """A broker's name on the Docker network (also its service name in ``docker-compose.yml``)."""
    return f"kafka-{node_id}"


def layout(brokers: int = 1, roles: tuple[str, ...] = DEFAULT_ROLES) -> Topology:
    """The fixed in-container ports: the same shape as ``Topology.allocate``, but ports need not be free.

    Each container has its own network namespace, so every broker can use the same listener ports;
    only the proxies share one container and so get distinct ports.
    """
    if brokers not in (1, 3):
        raise ValueError(f"--brokers must be 1 or 3, not {brokers}")
    roles = validate_roles(roles)
    nodes = tuple(range(1, brokers + 1))
    links = tuple(
        Link(role, n, ROLE_PORT_BASE + i, PROXY_PORT_BASE + 100 * n + i)
        for n in nodes for i, role in enumerate(roles)
    )
    return Topology(
        host="0.0.0.0", node_ids=nodes, roles=roles,
        controller_ports=dict.fromkeys(nodes, CONTROLLER_PORT), internal_ports=dict.fromkeys(nodes, INTERNAL_PORT),
        links=links, toxiproxy_port=TOXIPROXY_API_PORT,
    )


def container_proxies(topology: Topology) -> list[Proxy]:
    """The Toxiproxy proxies as seen from inside the Docker network (also ``docker/toxiproxy.json``)."""
    return [
        Proxy(link.proxy_name, f"0.0.0.0:{link.proxy_port}", f"{broker_host(link.node_id)}:{link.listener_port}")
        for link in topology.links
    ]


def kafka_properties(topology: Topology, node_id: int, advertised: dict[str, str]) -> dict[str, str]:
    """One broker's server.properties: the local backend's tuned settings with container addresses.

    ``advertised`` maps each role to the ``host:port`` its clients reach that broker's proxy at.
    """
    own = topology.links_of(node_id=node_id)
    listeners = [f"CONTROLLER://0.0.0.0:{CONTROLLER_PORT}", f"INTERNAL://0.0.0.0:{INTERNAL_PORT}",
                 *(f"{link.role.upper()}://0.0.0.0:{link.listener_port}" for link in own)]
    advertised_listeners = [f"INTERNAL://{broker_host(node_id)}:{INTERNAL_PORT}",
                            *(f"{link.role.upper()}://{advertised[link.role]}" for link in own)]
    props = server_properties(topology, node_id, Path(DATA_DIR))
    props.update({
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(advertised_listeners),
        "controller.quorum.voters": ",".join(f"{n}@{broker_host(n)}:{CONTROLLER_PORT}" for n in topology.node_ids),
    })
    return props


def kafka_env(properties: dict[str, str]) -> dict[str, str]:
    """Properties as the apache/kafka image reads them: ``a.b_c-d`` -> ``KAFKA_A_B__C___D``."""
    def name(key: str) -> str:
        return "KAFKA_" + key.replace("_", "__").replace("-", "___").replace(".", "_").upper()

    return {
        **{name(k): v for k, v in properties.items()},
        "CLUSTER_ID": CLUSTER_ID,
        "KAFKA_HEAP_OPTS": " ".join(o for o in JVM_OPTS if o.startswith("-Xm")),
        "KAFKA_JVM_PERFORMANCE_OPTS": " ".join(o for o in JVM_OPTS if not o.startswith("-Xm")),
    }


def require_engine() -> Any:
    """A connected Docker client, or ``DockerEngineUnavailable`` saying why none is reachable."""
    try:
        from testcontainers.core.docker_client import DockerClient
    except ImportError as exc:
        raise DockerEngineUnavailable(
            f"the docker backend needs testcontainers (pip install 'evcharge-chaos[docker]'): {exc}"
        ) from None
    try:
        client = DockerClient()
        client.client.ping()
    except Exception as exc:  # docker-py raises DockerException, requests errors, OSError...
        raise DockerEngineUnavailable(f"no Docker engine is reachable ({type(exc).__name__}: {exc})") from None
    return client


class DockerBroker:
    """A broker container with the ``Lifecycle`` of a local broker: docker stop/kill/pause/unpause."""

    def __init__(self, node_id: int, container: Any, expected_brokers: int, stop_timeout: int = 20) -> None:
        self.node_id = node_id
        self.name = f"broker-{node_id}"
        self.container = container
        self.expected_brokers = expected_brokers
        self.stop_timeout = stop_timeout
        self.pid: int | None = None

    @property
    def _docker(self) -> Any:
        return self.container.get_wrapped_container()

    def status(self) -> str:
        """Docker's view: ``running``, ``paused``, ``exited``..."""
        docker = self._docker
        docker.reload()
        return str(docker.status)

    @property
    def internal(self) -> str:
        """Host address of the internal listener (re-read: a restart may publish another port)."""
        return f"{self.container.get_container_host_ip()}:{self.container.get_exposed_port(INTERNAL_PORT)}"

    def start(self, wait: bool = True) -> DockerBroker:
        if self.status() != "running":
            self._docker.start()
        if wait:
            self.wait_ready()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (``docker stop``)."""
        if self.status() == "paused":
            self._docker.unpause()
        self._docker.stop(timeout=int(timeout if timeout is not None else self.stop_timeout))

    def kill(self) -> None:
        """SIGKILL (``docker kill``): no clean shutdown, like a crash or a power cut."""
        if self.status() in ("running", "paused"):
            self._docker.kill()

    def pause(self) -> None:
        """Freeze every process of the container (``docker pause``), like SIGSTOP: sockets stay open."""
        if self.status() == "running":
            self._docker.pause()

    def resume(self) -> None:
        if self.status() == "paused":
            self._docker.unpause()

    def restart(self, hard: bool = False, wait: bool = True) -> None:
        self.kill() if hard else self.stop()
        self.start(wait=wait)

    def is_running(self) -> bool:
        return self.status() in ("running", "paused")

    def is_paused(self) -> bool:
        return self.status() == "paused"

    def wait_ready(self, timeout: float | None = None) -> None:
        """Ready when this broker's metadata lists the whole cluster (as for local brokers)."""
        deadline = time.monotonic() + (timeout if timeout is not None else 120.0)
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                live = fetch_metadata(self.internal, timeout=1.0).brokers
                if len(live) >= self.expected_brokers:
                    return
                last = f"{len(live)} live broker(s)"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.5)
        logs = b"".join(self.container.get_logs()).decode(errors="replace")[-3000:]
        raise TimeoutError(f"{self.name} not ready within {timeout or 120.0}s ({last}); container log tail:\n{logs}")


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
        build_toxiproxy_image()
        network = Network().create()
        toxiproxy = (
            DockerContainer(TOXIPROXY_IMAGE).with_network(network).with_network_aliases("toxiproxy")
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
