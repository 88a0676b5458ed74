"""Failpoints freeze a real process at the named step (then the harness SIGKILLs it there), fire once,
follow the file as it changes, and cost nothing when unset or unarmed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evcharge import failpoints
from evcharge.failpoints import Failpoints
from evcharge.messages import AuthorizationRequest

from .test_central_outbox import ManualProducer, central, outbox_ids, record

SCRIPT = """
import sys
from evcharge import logs
from evcharge.failpoints import failpoint
logs.setup("test")
print("before", flush=True)
failpoint("x")
failpoint("x")  # fired already: never stops twice
print("after", flush=True)
"""


def state(pid: int) -> str:
    """The process state letter from /proc/PID/stat (after the parenthesised command name)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]


def wait_state(pid: int, wanted: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (now := state(pid)) != wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} still in state {now!r}, not {wanted!r}, after {timeout} s")
        time.sleep(0.01)


def run_script(tmp_path: Path, armed: str | None, env_set: bool = True) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != failpoints.ENV}
    if env_set:
        path = tmp_path / "failpoints"
        if armed is not None:
            path.write_text(armed)
        env[failpoints.ENV] = str(path)
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_an_armed_failpoint_stops_its_process_there_until_it_is_killed(tmp_path):
    proc = run_script(tmp_path, "# armed for the test\ny\nx\n")
    try:
        wait_state(proc.pid, "T")
        proc.kill()  # what the harness does: SIGKILL at exactly that step
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert out.split() == ["before"]  # stopped before "after", and it never ran on
    (line,) = [json.loads(line) for line in err.splitlines() if "failpoint" in line]
    assert (line["msg"], line["level"], line["failpoint"]) == ("failpoint reached", "warning", "x")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_continued_process_goes_on_and_does_not_stop_at_the_same_point_again(tmp_path):
    proc = run_script(tmp_path, "x\n")
    try:
        wait_state(proc.pid, "T")
        os.kill(proc.pid, signal.SIGCONT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out.split()) == (0, ["before", "after"])


@pytest.mark.parametrize(
    ("armed", "env_set"),
    [(None, False), (None, True), ("", True), ("y\nxx\n", True)],
    ids=["unset", "no-file", "empty", "other"],
)
def test_unset_or_unarmed_failpoints_return_at_once(tmp_path, armed, env_set):
    proc = run_script(tmp_path, armed, env_set)
    out, err = proc.communicate(timeout=60)  # a stop would hang here: the timeout fails the test
    assert (proc.returncode, out.split()) == (0, ["before", "after"]), err
    assert "failpoint reached" not in err


def test_without_the_environment_variable_nothing_is_read_at_all(monkeypatch):
    monkeypatch.setattr(failpoints, "_ACTIVE", None)
    monkeypatch.setattr(failpoints, "_read", True)
    monkeypatch.setattr(failpoints.os, "stat", lambda *_a, **_k: pytest.fail("stat called"))
    failpoints.failpoint("central.db-committed")


def test_the_environment_is_read_at_the_first_failpoint_not_at_import(tmp_path, monkeypatch):
    """A service forked from an interpreter that imported this module gets its environment later."""
    monkeypatch.setattr(failpoints, "_ACTIVE", None)
    monkeypatch.setattr(failpoints, "_read", False)
    monkeypatch.setenv(failpoints.ENV, str(tmp_path / "armed"))  # after the import, as in a forked service
    failpoints.failpoint("nothing.armed")
    active = failpoints._ACTIVE
    assert active is not None and active.path == str(tmp_path / "armed")


def test_the_file_is_followed_as_it_changes_and_each_name_fires_once(tmp_path, caplog):
    path = tmp_path / "armed"
    stops: list[str] = []
    points = Failpoints(str(path), stop=lambda: stops.append("stop"))
    assert not points.reached("a") and points.armed() == frozenset()  # no file: none armed
    path.write_text("a\n")
    assert points.reached("a") and stops == ["stop"]
    assert not points.reached("a")  # disarmed in memory, though the file still lists it
    path.write_text("a\nbb\n")  # a different size: re-read
    assert points.armed() == {"bb"}
    assert not points.reached("b") and points.reached("bb")
    path.unlink()
    assert points.armed() == frozenset()
    assert stops == ["stop", "stop"]
    assert [r.getMessage() for r in caplog.records if r.name == "evcharge.failpoints"] == ["failpoint reached"] * 2


def test_the_file_is_not_read_again_while_it_is_unchanged(tmp_path, monkeypatch):
    path = tmp_path / "armed"
    path.write_text("a\n")
    points = Failpoints(str(path), stop=lambda: None)
    assert points.armed() == {"a"}
    monkeypatch.setattr("builtins.open", lambda *_a, **_k: pytest.fail("re-read an unchanged file"))
    assert points.armed() == {"a"} and not points.reached("z")


def test_central_stops_after_the_batch_commit_then_after_the_offset_commit_only_for_a_batch(tmp_path, monkeypatch):
    """A real Central over a real database file: at ``central.db-committed`` another connection
    already sees the batch's reply, which is not handed to the producer yet, and no offset commit was
    issued; at ``central.offsets-committed`` the reply is handed over and the commit issued. An
    empty poll (and its sweep) passes neither, and neither fires twice."""
    db, armed = tmp_path / "c.db", tmp_path / "armed"
    armed.write_text("central.db-committed\ncentral.offsets-committed\n")
    producer = ManualProducer()
    c, consumer = central(db, producer)
    seen: list[tuple[int, list[str], int]] = []
    stop = lambda: seen.append((len(consumer.commits), outbox_ids(db), len(producer.sent)))  # noqa: E731
    monkeypatch.setattr(failpoints, "_ACTIVE", Failpoints(str(armed), stop=stop))
    monkeypatch.setattr(failpoints, "_read", True)
    c.step()  # nothing polled: no failpoint
    c.sweep()  # the first sweep: no failpoint either
    assert seen == []
    consumer.queue = [record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None))]
    c.step()
    (reply,) = producer.sent
    assert seen == [(0, [reply.message_id], 0), (1, [reply.message_id], 1)]
    consumer.queue = [record(AuthorizationRequest(request_id="r2", driver_id="D2", cp_id=None))]
    c.step()
    assert len(seen) == 2 and len(consumer.commits) == 2  # fired once per process
    c.store.close()
