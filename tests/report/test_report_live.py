"""The live view: counts, time left, what runs now and under which fault; plain lines off a terminal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chaos.report.live import LiveView, Progress, StatusWriter, describe, read_running

pytest_plugins = ["pytester"]


def test_progress_counts_outcomes_and_shares_the_time_left_among_the_workers() -> None:
    progress = Progress(total=10, workers=2)
    assert progress.left() is None and "estimating" in progress.headline()
    for outcome in ("passed", "passed", "failed", "skipped"):
        progress.record(outcome, 10.0)
    assert (progress.passed, progress.failed, progress.skipped, progress.done) == (2, 1, 1, 4)
    assert progress.left() == 30.0  # 6 left at 10 s each, on 2 workers
    assert progress.headline().startswith("4/10 done: 2 passed, 1 failed, 1 skipped;")
    assert "about 30 s left" in progress.headline()


def test_a_status_file_says_what_runs_and_under_which_fault(tmp_path: Path) -> None:
    now = time.time()
    status = {"test": "test_leader_kill", "started": now - 12,
              "scenarios": [{"name": "leader SIGKILL (3 nodes)", "faults": [("broker-2 kill", now - 3)]}]}
    writer = StatusWriter(tmp_path, "gw1", lambda: status)
    writer.write_now()
    (running,) = read_running(tmp_path)
    assert (running.worker, running.test) == ("gw1", "test_leader_kill")
    assert describe(running, now) == "test_leader_kill [gw1, 12 s] leader SIGKILL (3 nodes): broker-2 kill for 3 s"
    lines: list[str] = []
    LiveView(tmp_path, Progress(total=3), lines.append, tty=False).plain()
    assert lines[0].startswith("[evchaos live] 0/3 done") and "broker-2 kill for 3 s" in lines[1]
    writer.stop()
    assert read_running(tmp_path) == [], "a process that ends takes its status with it"


def test_a_run_off_a_terminal_prints_plain_progress_lines(pytester: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVCHAOS_LIVE_EVERY", "0.2")
    pytester.makepyfile("""
        import time

        def test_slow_one():
            time.sleep(1.5)

        def test_quick_one():
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--chaos-live", "on")
    result.assert_outcomes(passed=2)
    lines = [line for line in result.outlines if line.startswith("[evchaos live]")]
    assert any("0/2 done" in line for line in lines), result.outlines
    assert any("test_slow_one [main," in line for line in lines), "the running test, by name"
