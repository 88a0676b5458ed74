"""The ``docker`` backend: its topology and lifecycle mapping offline, and for real where an engine runs.

Only the tests marked ``docker`` need an engine (``conftest.docker_engine`` starts one if it can, and
they skip, the one acceptable skip, with the reason when it cannot). Everything else runs anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaos.faults import cut
from chaos.infra.backends import docker as backend
from chaos.infra.backends.docker import (
    DockerBackend,
    DockerBroker,
    DockerEngineUnavailable,
    container_proxies,
    kafka_env,
    kafka_properties,
    layout,
)
from chaos.infra.backends.factory import docker_network, make_backend
from chaos.infra.container import SERVICE_LABEL, docker

ROLES = ("driver", "central", "cp", "monitor", "harness")
"""The EV network's roles plus the harness's, in the order the expectations below are written."""


def test_three_brokers_share_listener_ports_but_never_a_proxy_port() -> None:
    topology = layout(3, ROLES)
    assert topology.node_ids == (1, 2, 3)
    proxy_ports = [link.proxy_port for link in topology.links]
    assert len(set(proxy_ports)) == len(proxy_ports) == 3 * len(topology.roles)
    assert {link.listener_port for link in topology.links_of(node_id=1)} == {
        link.listener_port for link in topology.links_of(node_id=3)
    }
    with pytest.raises(ValueError, match="1 or 3"):
        layout(2, ROLES)


def test_a_proxy_forwards_to_its_broker_listener_on_the_docker_network() -> None:
    proxies = {p.name: p for p in container_proxies(layout(3, ROLES))}
    driver_b2 = proxies["driver-b2"]
    link = layout(3, ROLES).links_of("driver", 2)[0]
    assert driver_b2.listen == f"0.0.0.0:{link.proxy_port}"
    assert driver_b2.upstream == f"kafka-2:{link.listener_port}"


def test_each_role_listener_advertises_that_roles_proxy() -> None:
    topology = layout(3, ROLES)
    advertised = {role: f"localhost:{3000 + i}" for i, role in enumerate(topology.roles)}
    props = kafka_properties(topology, 2, advertised)
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@kafka-1:19093,2@kafka-2:19093,3@kafka-3:19093"
    assert props["advertised.listeners"].split(",")[:2] == ["INTERNAL://kafka-2:19092", "DRIVER://localhost:3000"]
    assert "CENTRAL://0.0.0.0:19101" in props["listeners"].split(",")
    assert props["default.replication.factor"] == "3" and props["min.insync.replicas"] == "2"
    assert props["log.dirs"] == backend.DATA_DIR


def test_properties_become_the_images_environment_variables() -> None:
    env = kafka_env({"a.b_c-d": "1", "log.dirs": "/x"})
    assert env["KAFKA_A_B__C___D"] == "1" and env["KAFKA_LOG_DIRS"] == "/x"
    assert env["CLUSTER_ID"] and "-Xmx" in env["KAFKA_HEAP_OPTS"] and "-Xmx" not in env["KAFKA_JVM_PERFORMANCE_OPTS"]


def test_an_unreachable_engine_raises_the_specific_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DockerEngineUnavailable, match="no Docker engine is reachable"):
        DockerBackend.start(brokers=1)


@pytest.mark.parametrize("network", ["host", "bridge", "auto"])
def test_an_unreachable_engine_is_the_specific_error_on_every_network(
    monkeypatch: pytest.MonkeyPatch, network: str, tmp_path: Path,
) -> None:
    """The pytest plugin skips on this error by name: any other would turn "no engine" into a failure."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("EVCHAOS_DOCKER_NETWORK", network)
    with pytest.raises(DockerEngineUnavailable, match="no Docker engine is reachable"):
        make_backend("docker", workdir=tmp_path)


class FakeDocker:
    """Stands in for docker-py's Container: records calls and moves between Docker's states."""

    def __init__(self) -> None:
        self.status = "running"
        self.calls: list[str] = []

    def reload(self) -> None:
        pass

    def _go(self, call: str, status: str) -> None:
        self.calls.append(call)
        self.status = status

    def start(self) -> None:
        self._go("start", "running")

    def stop(self, timeout: int) -> None:
        self._go(f"stop {timeout}", "exited")

    def kill(self) -> None:
        self._go("kill", "exited")

    def pause(self) -> None:
        self._go("pause", "paused")

    def unpause(self) -> None:
        self._go("unpause", "running")


class FakeContainer:
    def __init__(self) -> None:
        self.docker = FakeDocker()

    def get_wrapped_container(self) -> Any:
        return self.docker

    def get_container_host_ip(self) -> str:
        return "localhost"

    def get_exposed_port(self, port: int) -> int:
        return 40000 + port % 1000


def test_broker_lifecycle_maps_to_docker_stop_kill_pause_unpause() -> None:
    container = FakeContainer()
    broker = DockerBroker(1, container, expected_brokers=1, stop_timeout=7)
    assert broker.name == "broker-1" and broker.internal == "localhost:40092"
    broker.pause()
    assert broker.is_paused() and broker.is_running()
    broker.resume()
    broker.resume()  # resuming a running broker does nothing (the plugin resumes every broker after a test)
    broker.kill()
    assert not broker.is_running()
    broker.start(wait=False)
    broker.pause()
    broker.stop()  # a paused container is unpaused first, so it can handle SIGTERM
    broker.restart(hard=True, wait=False)  # already stopped: nothing to kill, just start
    broker.restart(hard=True, wait=False)
    assert container.docker.calls == [
        "pause", "unpause", "kill", "start", "pause", "unpause", "stop 7", "start", "kill", "start",
    ]


@pytest.mark.docker
def test_docker_backend_end_to_end(docker_images: list[str], tmp_path: Path) -> None:
    """Brokers and Toxiproxy in containers (on the engine's network: host here), secured where the
    network allows: per-role proxies, every broker fault through its lifecycle, a link cut, and no
    container left once it is down."""
    secured = docker_network() == "host"
    infra = make_backend("docker", brokers=1, workdir=tmp_path / "cluster", roles=ROLES, secured=secured)
    try:
        endpoints = infra.endpoints
        assert set(endpoints.roles) == set(ROLES)
        assert sorted(infra.toxiproxy.proxies()) == sorted(f"{role}-b1" for role in ROLES)
        meta = infra.metadata(timeout=5.0)
        assert sorted(meta.brokers) == [1]
        assert running_containers(), "the brokers and Toxiproxy should run in containers"
        broker = infra.broker(1)
        broker.pause()
        assert broker.is_paused() and broker.is_running()
        broker.resume()
        assert not broker.is_paused()
        broker.restart(hard=True)
        infra.wait_brokers(timeout=60)
        broker.stop()
        assert not broker.is_running()
        broker.start()
        infra.wait_brokers(timeout=60)
        down = cut(infra, "driver")
        assert down.proxies == ["driver-b1"] and not infra.toxiproxy.get("driver-b1").enabled
        down.heal()
        assert infra.toxiproxy.get("driver-b1").enabled
    finally:
        infra.down(graceful=False)
    assert running_containers() == [], "down() must leave no container of the cluster"


def running_containers() -> list[str]:
    """Names of the containers the harness started (labelled with the service they run)."""
    done = docker("ps", "--all", "--filter", f"label={SERVICE_LABEL}", "--format", "{{.Names}}")
    return sorted(done.stdout.split())
