"""A chaos suite killed mid-scenario leaves nothing behind: real pytest, real brokers, real SIGKILL.

A nested pytest runs a seeded random schedule (a broker, Toxiproxy, Central, engines, monitors and
drivers, all in sessions of their own). Once its services run, the test SIGKILLs pytest itself, or
one pytest-xdist worker, and reads /proc for what is left of that process's tree: nothing may run
and nothing may listen a few seconds later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.processes import alive, descendants, listening_ports, parents, port_listening, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SUITE = ["scenarios/test_random_schedules.py", "-m", "chaos", "-p", "no:cacheprovider", "-q"]
GONE_WITHIN = 10.0


def command(ident: str) -> str:
    try:
        return Path(f"/proc/{ident.split('-')[0]}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def running_scenario(tree: set[str]) -> bool:
    """True once the tree holds a broker, Toxiproxy and the system's services: mid-scenario."""
    commands = [command(ident) for ident in tree]
    return (any("kafka.Kafka" in c for c in commands) and any("toxiproxy-server" in c for c in commands)
            and sum("evcharge.cli" in c for c in commands) >= 4)


def run_suite(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    log = (tmp_path / "pytest.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "pytest", *SUITE, f"--basetemp={tmp_path / 'run'}", *args],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def wait_mid_scenario(root: int, tmp_path: Path) -> set[str]:
    wait_until(lambda: running_scenario(descendants(root)), 120,
               lambda: f"no scenario started; log:\n{(tmp_path / 'pytest.log').read_text()[-3000:]}")
    return descendants(root)


def ports_of(tree: set[str]) -> set[int]:
    """What the tree listens on, read before the kill: after it, the watchdog may have been quicker."""
    ports = listening_ports(tree)
    assert ports, "the scenario's broker and proxies should be listening (or this test proves nothing)"
    return ports


def assert_all_gone(tree: set[str], ports: set[int]) -> None:
    wait_until(lambda: not alive(tree) and not any(port_listening(p) for p in ports), GONE_WITHIN,
               lambda: "left running: " + "; ".join(command(i)[:120] for i in alive(tree))
               + f"; ports still listening: {sorted(p for p in ports if port_listening(p))}")


def test_a_sigkilled_pytest_leaves_no_process_and_no_port(tmp_path: Path):
    suite = run_suite(tmp_path, "-n", "0", "--chaos-seed", "0")
    try:
        tree = wait_mid_scenario(suite.pid, tmp_path)
        ports = ports_of(tree)
        suite.kill()
        suite.wait(10)
        assert_all_gone(tree, ports)
    finally:
        suite.kill()


def test_a_sigkilled_xdist_worker_leaves_nothing_of_its_scenario(tmp_path: Path):
    suite = run_suite(tmp_path, "-n", "2", "--chaos-seeds", "2")
    try:
        def busy_worker() -> int | None:
            workers = [pid for pid, parent in parents().items() if parent == suite.pid]
            return next((w for w in workers if running_scenario(descendants(w))), None)

        wait_until(lambda: busy_worker() is not None, 180,
                   lambda: f"no worker reached a scenario; log:\n{(tmp_path / 'pytest.log').read_text()[-3000:]}")
        worker = busy_worker()
        assert worker is not None
        tree = descendants(worker)
        ports = ports_of(tree)
        os.kill(worker, signal.SIGKILL)
        assert_all_gone(tree, ports)
        everything = descendants(suite.pid)
        suite.kill()
        suite.wait(10)
        wait_until(lambda: not alive(everything), GONE_WITHIN,
                   lambda: "the controller's SIGKILL left: " + "; ".join(command(i)[:120] for i in alive(everything)))
    finally:
        suite.kill()
