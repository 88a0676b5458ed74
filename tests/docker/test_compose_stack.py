"""``docker compose up`` of docker-compose.yml for real (on the host network, as these machines need),
a charge through the driver's API on it, scenarios of the external backend against it, and
``docker compose down -v`` leaving nothing behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from chaos.infra.backends.docker.config import layout
from chaos.infra.backends.docker.host import kafka_image
from chaos.infra.container import docker
from chaos.infra.kafka_protocol import SaslError, fetch_metadata
from chaos.infra.security import HARNESS_USER
from tests.docker.test_docker_compose import ROLES, ROOT, compose

pytestmark = pytest.mark.docker
DRIVER_API = "http://127.0.0.1:8100"
PROJECT = f"evchaos-test-{os.getpid()}"
"""A compose project of this run's own: nothing it leaves can be mistaken for someone else's."""


def stack(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return compose("-p", PROJECT, *args, host=True, env={"EVCHAOS_KAFKA_IMAGE": kafka_image()}, timeout=timeout)


def left_behind() -> dict[str, list[str]]:
    """The project's containers, volumes and networks that still exist."""
    label = f"label=com.docker.compose.project={PROJECT}"
    return {
        kind: docker(*command, "--filter", label, "--format", "{{.Name}}" if kind != "containers" else "{{.Names}}")
        .stdout.split()
        for kind, command in (("containers", ("ps", "--all")), ("volumes", ("volume", "ls")),
                              ("networks", ("network", "ls")))
    }


def host_ports() -> list[int]:
    """The loopback ports the stack binds on the host network: the docker layout's listeners and
    proxies, Toxiproxy's API, the CPs' health ports (compose.host.yml) and the driver's API."""
    return sorted(layout(1, ROLES).ports() | {7001, 7002, int(DRIVER_API.rpartition(":")[2])})


def in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@pytest.fixture(scope="module")
def compose_stack(docker_images: list[str]) -> Iterator[None]:
    taken = [port for port in host_ports() if in_use(port)]
    assert not taken, (f"ports the compose stack binds on the host network are in use: {taken}; "
                       "`ss -ltnp` names their holders (another stack, or a service left running)")
    up = stack("up", "--detach", "--no-build")
    assert up.returncode == 0, f"docker compose up failed:\n{up.stderr}"
    try:
        yield
    finally:
        down = stack("down", "--volumes", "--timeout", "20")
        assert down.returncode == 0, f"docker compose down -v failed:\n{down.stderr}"
    assert left_behind() == {"containers": [], "volumes": [], "networks": []}, "down -v must remove everything"


def call(method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        DRIVER_API + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def wait_for(what: str, probe: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s (last: {last!r}); central's log:\n"
                         + stack("logs", "--no-color", "--tail", "40", "central").stdout)


def test_the_compose_stack_charges_a_car_end_to_end(compose_stack: None) -> None:
    token_file = "/data/.config/evcharge/driver-D1.token"
    token = wait_for("the driver wrote its API token",
                     lambda: stack("exec", "-T", "driver-1", "cat", token_file, timeout=30).stdout.strip(), 60)
    wait_for("Central lists an available CP (its monitors report in)",
             lambda: call("GET", "/cps?available=1", token), 120)
    request = call("POST", "/charge", token, {"cp_id": None, "duration_s": 3})
    assert request["state"] == "pending"

    def finished() -> dict[str, Any] | None:
        now = call("GET", f"/requests/{request['request_id']}", token)
        return now if now["final"] else None

    done = wait_for("the charge ended", finished, 120)
    assert done["state"] == "completed", f"{done['state']}: {done['reason']}"
    assert done["ticket"]["cp_id"] in ("CP_001", "CP_002") and done["ticket"]["kwh"] > 0


def harness_password() -> str:
    """The stack's administrator password, from its secrets volume (as the compose file's header says)."""
    done = stack("run", "--rm", "--no-deps", "-T", "--entrypoint", "cat", "provision",
                 "/secrets/kafka/harness.password", timeout=60)
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    return done.stdout.strip()


def test_the_compose_stack_lets_in_no_one_without_credentials(compose_stack: None) -> None:
    internal = json.loads((ROOT / "docker" / "endpoints.json").read_text())["brokers"][0]["internal"]
    assert fetch_metadata(internal, plain=(HARNESS_USER, harness_password())).brokers, "the administrator: in"
    for address in (internal, "127.0.0.1:21100"):  # the broker itself, and the drivers' proxy
        with pytest.raises(OSError):
            fetch_metadata(address, timeout=3.0)  # no SASL: dropped
    with pytest.raises(SaslError, match="refused"):
        fetch_metadata(internal, plain=(HARNESS_USER, "not-the-password"))


def test_the_external_backend_runs_scenarios_against_the_compose_stack(compose_stack: None, tmp_path) -> None:
    """Link cuts only: the external backend owns no broker process. Each scenario starts its own
    services on its own topics, beside the stack's, through the stack's proxies; secured, as the
    stack is: the harness logs in as its administrator and makes each service its own principal."""
    endpoints = json.loads((ROOT / "docker" / "endpoints.json").read_text())
    endpoints["harness_credentials"] = {"user": HARNESS_USER, "password": harness_password(), "mechanism": "PLAIN"}
    secured = tmp_path / "endpoints.json"
    secured.write_text(json.dumps(endpoints))
    chosen = "driver-at-authorization or central-during-telemetry"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "scenarios/test_link_cuts.py", "-k", chosen, "-m", "chaos", "-q",
         "-p", "no:cacheprovider", "-n", "0", "--chaos-backend", "external", "--chaos-security", "sasl",
         "--chaos-endpoints", str(secured)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
    )
    assert run.returncode == 0 and "2 passed" in run.stdout, run.stdout[-4000:] + run.stderr[-2000:]
