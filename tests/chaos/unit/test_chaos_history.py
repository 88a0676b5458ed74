"""The history recorder: one clock, JSON lines on disk, loading back, and the state sampler."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from chaos.checks.views import fault_windows, operations, state_intervals
from chaos.core.clock import Clock
from chaos.core.history import History, HistoryError
from chaos.core.sampler import StateSampler


def test_events_share_one_clock_and_are_written_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "h" / "history.jsonl"
    with History(path, seed=7, name="demo") as history:
        op = history.invoke("client-1", "write", 3, resource="r1")
        window = history.fault_start("link timeout", "timeout", "client-1", {"timeout": 0})
        history.ok(op, value=3)
        history.fault_end(window)
        history.note("hello", extra=1)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["type"] for e in lines] == ["meta", "invoke", "fault_start", "ok", "fault_end", "note", "end"]
    times = [e["t"] for e in lines]
    assert times == sorted(times)
    assert lines[0]["seed"] == 7 and lines[0]["name"] == "demo"
    start = datetime.fromisoformat(lines[0]["start"])
    for event in lines:
        # the absolute time is the start plus the monotonic offset, to the millisecond
        assert abs((datetime.fromisoformat(event["at"]) - start).total_seconds() - event["t"]) < 0.002
    completion = lines[3]
    assert completion["op"] == lines[1]["op"] and completion["process"] == "client-1"
    assert completion["f"] == "write" and completion["resource"] == "r1"
    assert lines[4]["window"] == lines[2]["window"] and lines[4]["name"] == "link timeout"


def test_load_round_trip_and_views(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    with History(path, seed=3) as history:
        a = history.invoke("c", "read")
        b = history.invoke("c", "write", 1)
        history.fail(a, "refused")
        history.unknown(b, "timed out")
        history.invoke("c", "read")
    loaded = History.load(path)
    assert loaded.events == history.events
    assert loaded.seed == 3
    assert loaded.clock.hms(0) == history.clock.hms(0)
    ops = operations(loaded)
    assert [(o.f, o.outcome) for o in ops] == [("read", "fail"), ("write", "unknown"), ("read", None)]
    assert ops[0].error == "refused" and ops[1].latency is not None and ops[2].latency is None


def test_operation_context_records_unknown_on_exception() -> None:
    history = History()
    with pytest.raises(TimeoutError), history.operation("c", "write", 1) as op:
        raise TimeoutError("no answer")
    with history.operation("c", "read") as op:
        op.ok(5)
    with history.operation("c", "read"):
        pass
    outcomes = [(o.outcome, o.result, o.error) for o in operations(history)]
    assert outcomes == [
        ("unknown", None, "TimeoutError: no answer"),
        ("ok", 5, None),
        ("unknown", None, "the client recorded no outcome"),
    ]


def test_completing_twice_or_unknown_ids_is_an_error() -> None:
    history = History()
    op = history.invoke("c", "write")
    history.ok(op)
    with pytest.raises(HistoryError, match="already completed"):
        history.fail(op, "late")
    with pytest.raises(HistoryError, match="outcome must be"):
        history.complete(history.invoke("c", "x"), "maybe")
    with pytest.raises(HistoryError, match="never started"):
        history.fault_end("w99")
    history.close()
    with pytest.raises(HistoryError, match="closed"):
        history.note("after close")


def test_concurrent_recording_is_consistent(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    history = History(path)

    def client(name: str) -> None:
        for i in range(200):
            history.ok(history.invoke(name, "write", i), i)

    threads = [threading.Thread(target=client, args=(f"c{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    history.close()
    ops = operations(History.load(path))
    assert len(ops) == 1600 and len({o.id for o in ops}) == 1600
    assert all(o.outcome == "ok" and o.result == o.value for o in ops)
    times = [e["t"] for e in history.events]
    assert times == sorted(times)


def test_load_errors_name_the_line(tmp_path: Path) -> None:
    good = History(tmp_path / "good.jsonl")
    good.note("x")
    good.close()
    text = (tmp_path / "good.jsonl").read_text()

    torn = tmp_path / "torn.jsonl"
    torn.write_text(text + '{"t": 1.0, "type": "no')
    assert len(History.load(torn)) == 3  # a run killed mid-write still loads

    bad = tmp_path / "bad.jsonl"
    lines = text.splitlines()
    bad.write_text("\n".join([lines[0], "garbage", *lines[1:]]) + "\n")
    with pytest.raises(HistoryError, match=r"bad.jsonl:2: not a JSON object"):
        History.load(bad)

    headless = tmp_path / "headless.jsonl"
    headless.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(HistoryError, match="must begin with a 'meta' event"):
        History.load(headless)

    fieldless = tmp_path / "fieldless.jsonl"
    fieldless.write_text(lines[0] + '\n{"x": 1}\n' + lines[1] + "\n")
    with pytest.raises(HistoryError, match=r":2: an event needs 't' and 'type'"):
        History.load(fieldless)

    with pytest.raises(HistoryError, match="cannot read history"):
        History.load(tmp_path / "missing.jsonl")


class FakeClock(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0

    def now(self) -> float:
        return self.t


def test_sampler_records_changes_and_periodic_keyframes() -> None:
    clock = FakeClock()
    history = History(clock=clock)
    readings: list[dict[str, str] | None] = [
        {"a": "idle", "b": "idle"},
        {"a": "idle", "b": "idle"},
        {"a": "reserved", "b": "idle"},
        None,  # cannot tell: skipped, states persist
        {"a": "reserved"},  # b disappeared
        {"a": "reserved"},  # 6 s later: keyframe
    ]
    sampler = StateSampler(history, lambda: readings.pop(0), keyframe_every=5.0)
    for t in (0.0, 0.1, 0.2, 0.3, 0.4, 6.0):
        clock.t = t
        sampler.sample()
    states = [e for e in history.events if e["type"] == "state"]
    assert [(e["t"], e["keyframe"], e["states"], e.get("gone")) for e in states] == [
        (0.0, True, {"a": "idle", "b": "idle"}, None),
        (0.2, False, {"a": "reserved"}, None),
        (0.4, False, {}, ["b"]),
        (6.0, True, {"a": "reserved"}, None),
    ]
    clock.t = 7.0
    history.note("end")
    intervals = state_intervals(history)
    assert [(i.state, i.start, i.end) for i in intervals["a"]] == [
        ("idle", 0.0, 0.2),
        ("reserved", 0.2, None),
    ]
    assert [(i.state, i.start, i.end) for i in intervals["b"]] == [("idle", 0.0, 0.4)]
    assert intervals["a"][1].duration(history.end) == pytest.approx(6.8)


def test_sampler_notes_a_failing_probe_once_per_error() -> None:
    history = History()

    def broken() -> dict[str, str]:
        raise OSError("database is locked")

    sampler = StateSampler(history, broken)
    for _ in range(5):
        sampler.sample()
    notes = [e for e in history.events if e["type"] == "note"]
    assert len(notes) == 1 and "database is locked" in notes[0]["error"]


def test_sampler_thread_samples_about_every_interval_and_stops() -> None:
    history = History()
    counter = {"n": 0}

    def probe() -> dict[str, str]:
        counter["n"] += 1
        return {"r": str(counter["n"] // 3)}

    with StateSampler(history, probe, interval=0.02):
        deadline = time.monotonic() + 10
        while counter["n"] < 8:  # the thread keeps sampling on its own; wait for it, with a deadline
            assert time.monotonic() < deadline, f"only {counter['n']} samples in 10 s"
            time.sleep(0.01)
    calls = counter["n"]
    time.sleep(0.1)
    assert counter["n"] == calls, "the sampler kept running after stop"
    states = [e for e in history.events if e["type"] == "state"]
    assert states[0]["keyframe"] and states[-1]["keyframe"]
    assert len(states) < calls  # unchanged samples were not written


def test_fault_windows_view_keeps_unhealed_windows_open() -> None:
    history = History()
    first = history.fault_start("a", "kill", "x")
    history.fault_start("b", "pause", "y")
    history.fault_end(first, error="could not restart")
    windows = fault_windows(history)
    assert [(w.name, w.end is not None, w.error) for w in windows] == [
        ("a", True, "could not restart"),
        ("b", False, None),
    ]
