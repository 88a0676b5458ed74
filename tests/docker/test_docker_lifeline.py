"""A chaos suite on the docker backend, SIGKILLed mid-scenario, leaves nothing behind: no process,
no container, no listening port (real pytest, real containers, real SIGKILL).

The brokers and Toxiproxy are not pytest's descendants here: the engine runs them. They carry the
run's label instead, and the run's watchdog removes every container that carries its mark.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.infra.container import docker
from chaos.infra.reaper import LABEL, identity
from tests.infra.processes import alive, descendants, listening_ports, port_listening, wait_until
from tests.infra.test_lifeline_suite import GONE_WITHIN, command, run_suite

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def containers_of(owner: int) -> list[str]:
    """Ids of the running containers whose run chain names the process ``owner``."""
    listed = docker("ps", "--filter", f"label={LABEL}", "--format", f'{{{{.ID}}}} {{{{.Label "{LABEL}"}}}}')
    rows = (line.split(" ", 1) for line in listed.stdout.splitlines() if " " in line)
    return [cid for cid, chain in rows if any(mark.split("-")[0] == str(owner) for mark in chain.split(","))]


def container_tree(ids: list[str]) -> set[str]:
    """The processes inside these containers as the host sees them (with the host's network, their
    ports are the host's): each container's first process and everything below it."""
    pids = [int(pid) for pid in docker("inspect", "--format", "{{.State.Pid}}", *ids).stdout.split()
            if pid.isdigit() and pid != "0"]
    return {ident for pid in pids for ident in (identity(pid), *descendants(pid)) if ident is not None}


def test_a_sigkilled_pytest_on_the_docker_backend_leaves_no_container(docker_images: list[str], tmp_path: Path) -> None:
    suite = run_suite(tmp_path, "-n", "0", "--chaos-seed", "0", "--chaos-backend", "docker")
    try:
        def mid_scenario() -> bool:
            services = sum("evcharge.cli" in command(i) for i in descendants(suite.pid))
            return services >= 4 and len(containers_of(suite.pid)) >= 2

        log = tmp_path / "pytest.log"
        wait_until(mid_scenario, 180, lambda: f"no scenario started; log:\n{log.read_text()[-3000:]}")
        ids = containers_of(suite.pid)
        tree = descendants(suite.pid) | container_tree(ids)
        ports = listening_ports(tree)
        assert ports, "the broker, the proxies and the services should be listening (or this proves nothing)"
        suite.kill()
        suite.wait(10)
        wait_until(lambda: not containers_of(suite.pid) and not alive(tree) and not any(map(port_listening, ports)),
                   GONE_WITHIN,
                   lambda: f"left: containers {containers_of(suite.pid)}; processes "
                   + "; ".join(command(i)[:100] for i in alive(tree))
                   + f"; ports {sorted(p for p in ports if port_listening(p))}")
    finally:
        suite.kill()
