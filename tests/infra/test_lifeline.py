"""Nothing a run starts outlives it, on real processes ended by real signals.

An owner process (a stand-in for pytest: it activates the lifeline and starts a service through the
harness's one lifecycle) is ended every way a run ends. Its service listens on a port and starts a
grandchild that escapes into a session of its own, as a daemonizing server would. What is left is
read from /proc by descent from the owner (``processes``), not from the harness's marks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.infra import lifeline
from chaos.infra.reaper import identity
from tests.infra.processes import alive, descendants, listening_ports, port_listening, wait_until

SERVICE = """
import socket, subprocess, sys, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
open("port.tmp", "w").write(str(server.getsockname()[1]))
__import__("os").replace("port.tmp", "port")
time.sleep(600)
"""

OWNER = r"""
import json, os, signal, subprocess, sys, time
from pathlib import Path
from chaos.infra import lifeline
from chaos.infra.service import Service

how = sys.argv[2]
signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started from a job that ignores it
line = lifeline.activate()
work = Path(sys.argv[1])
if how == "nested":  # an owner whose child is an owner too, as pytest-xdist's controller and workers
    itself = f"OWNER = {OWNER!r}\nSERVICE = {SERVICE!r}\n{OWNER}"
    inner = subprocess.Popen([sys.executable, "-c", itself, str(work / "inner"), "sleep"], stdout=subprocess.PIPE)
    print(inner.stdout.readline().decode().strip()[:-1] + f', "inner": {inner.pid}}}', flush=True)
    time.sleep(600)
(work / "port").unlink(missing_ok=True)
service = Service("listener", [sys.executable, "-c", SERVICE], work, ready=(work / "port").exists)
service.start()
if how == "paused":
    service.pause()
forked = 0
if how == "forked":  # a child forked without exec (multiprocessing's fork) that outlives the owner
    forked = os.fork()
    if forked == 0:
        time.sleep(600)
        os._exit(0)
print(json.dumps({"service": service.pid, "watchdog": line.watchdog.pid, "forked": forked}), flush=True)
if how in ("exit", "paused-exit"):
    sys.exit(0)  # a clean exit that forgot to stop its service
if how == "raise":
    raise RuntimeError("the run failed")
time.sleep(600)
"""


def start_owner(tmp_path: Path, how: str) -> tuple[subprocess.Popen[str], dict[str, int]]:
    code = f"OWNER = {OWNER!r}\nSERVICE = {SERVICE!r}\n{OWNER}"
    owner = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), how], text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parents[2])
    assert owner.stdout is not None
    started = owner.stdout.readline()
    assert started, f"the owner died before starting its service: {owner.stderr.read() if owner.stderr else ''}"
    return owner, json.loads(started)


def service_port(work: Path) -> int:
    return int((work / "port").read_text())


def everything_below(owner: subprocess.Popen[str], tmp_path: Path) -> tuple[set[str], int]:
    """The owner's whole tree (service, grandchild, watchdog) and the port its service holds."""
    wait_until(lambda: len(descendants(owner.pid)) >= 3, 10, lambda: f"tree {descendants(owner.pid)}")
    return descendants(owner.pid), service_port(tmp_path)


@pytest.mark.parametrize("how, end", [
    ("sleep", signal.SIGKILL), ("sleep", signal.SIGTERM), ("sleep", signal.SIGINT),
    ("paused", signal.SIGKILL), ("forked", signal.SIGKILL), ("exit", None), ("raise", None),
], ids=["SIGKILL", "SIGTERM", "SIGINT", "paused-service-SIGKILL", "forked-child-SIGKILL", "clean-exit", "exception"])
def test_however_the_owner_ends_nothing_it_started_is_left(tmp_path: Path, how: str, end: signal.Signals | None):
    owner, pids = start_owner(tmp_path, how)
    forked_child = int(pids.get("forked") or 0)
    if end is not None:
        tree, port = everything_below(owner, tmp_path)
        assert port in listening_ports(tree) and str(pids["service"]) in {i.split("-")[0] for i in tree}
        owner.send_signal(end)
    else:
        tree, port = {identity(pids["service"]) or "gone"}, service_port(tmp_path)
    owner.wait(10)
    forked = identity(forked_child) if forked_child else None
    try:
        wait_until(lambda: not alive(tree - {forked}) and not port_listening(port), 10,
                   lambda: f"still running: {alive(tree)}; port {port} listening: {port_listening(port)}")
    finally:
        if forked_child:
            os.kill(forked_child, signal.SIGKILL)


def test_a_live_run_is_no_leftover_and_gc_leaves_it_alone(tmp_path: Path):
    owner, pids = start_owner(tmp_path, "sleep")
    try:
        tree, _ = everything_below(owner, tmp_path)
        assert not {p.pid for p in lifeline.leftovers().processes} & {pids["service"]}
        done = subprocess.run([sys.executable, "-m", "chaos.cli.main", "infra", "gc"], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert alive(tree) == tree, "gc stopped processes of a run that is still going"
    finally:
        owner.kill()
        owner.wait(10)


def test_gc_stops_what_a_run_left_when_its_watchdog_died_too_and_the_next_run_warns(tmp_path: Path):
    owner, pids = start_owner(tmp_path, "sleep")
    tree, port = everything_below(owner, tmp_path)
    os.kill(pids["watchdog"], signal.SIGKILL)  # as `kill -9` of the whole session would
    wait_until(lambda: identity(pids["watchdog"]) is None, 10, lambda: "the watchdog survived SIGKILL")
    owner.kill()
    owner.wait(10)
    left = alive(tree)
    assert left, "with its watchdog dead, the run's service should still run (or this test proves nothing)"

    found = lifeline.leftovers()
    assert {"listener"} <= {p.name for p in found.processes}, found.describe()
    assert pids["service"] in {p.pid for p in found.processes}

    warned = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co",
                             str(Path(__file__).parent / "test_free_ports.py")],
                            capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert "WARNING: an earlier run left" in warned.stdout and "listener (pid" in warned.stdout, warned.stdout

    dry = run_gc("--dry-run")
    assert f"listener (pid {pids['service']})" in dry and alive(tree) == left, dry
    said = run_gc()
    assert said.startswith("stopped ") and f"listener (pid {pids['service']})" in said, said
    wait_until(lambda: not alive(tree) and not port_listening(port), 10, lambda: f"gc left {alive(tree)}")
    assert pids["service"] not in {p.pid for p in lifeline.leftovers().processes}


def run_gc(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "chaos.cli.main", "infra", "gc", *args], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_outer_owner_ends_a_nested_run_even_when_the_inner_watchdog_died(tmp_path: Path):
    """pytest-xdist: a killed controller takes its workers and their services, whatever became of the
    workers' own watchdogs, because every process carries the whole chain of its owners."""
    outer, pids = start_owner(tmp_path, "nested")
    wait_until(lambda: (tmp_path / "inner" / "port").exists(), 20, lambda: "the inner service never started")
    tree, port = descendants(outer.pid), service_port(tmp_path / "inner")
    assert identity(pids["inner"]) in tree and identity(pids["service"]) in tree
    os.kill(pids["watchdog"], signal.SIGKILL)  # the inner owner's watchdog
    outer.kill()
    outer.wait(10)
    wait_until(lambda: not alive(tree) and not port_listening(port), 10,
               lambda: f"still running: {alive(tree)}")
