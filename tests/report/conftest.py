"""A recorded run for the report tests: three charging points, three faults, one reservation stuck."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.core.clock import Clock
from chaos.core.history import History


class SteppedClock(Clock):
    """A clock the test moves by hand, so every event lands at an exact offset."""

    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0

    def now(self) -> float:
        return self.t


def record_run(path: Path | None = None) -> History:
    clock = SteppedClock()
    history = History(path, clock=clock, seed=7, name="driver link timeout during a charge",
                      invariants={"transient_limits": {"reserved": 15}})
    cps = ["CP_001", "CP_002", "CP_003"]

    def state(t: float, states: dict[str, str], keyframe: bool = False) -> None:
        clock.t = t
        history.state(states, keyframe=keyframe)

    state(0.0, dict.fromkeys(cps, "available"), keyframe=True)
    state(2.0, {"CP_001": "reserved"})
    clock.t = 3.0
    link = history.fault_start("driver link timeout", "timeout", "driver")
    op = history.invoke("D1", "request_charge", {"cp": "CP_002"}, resource="CP_002")
    state(4.5, {"CP_002": "reserved"})
    state(5.2, {"CP_002": "charging"})
    history.ok(op)
    clock.t = 8.0
    pause = history.fault_start("broker-1 pause", "pause", "broker-1")
    clock.t = 11.0
    history.fault_end(pause)
    clock.t = 13.0
    history.fault_end(link)
    state(15.0, {"CP_002": "available"})
    state(16.0, {"CP_003": "fault"})
    state(19.0, {"CP_003": "available"})
    clock.t = 22.0
    history.fault_start("monitor CP_003 killed", "kill", "monitor-CP_003")
    state(23.0, {"CP_003": "disconnected"})
    state(30.0, {"CP_001": "reserved", "CP_002": "available", "CP_003": "disconnected"}, keyframe=True)
    return history


@pytest.fixture
def run_history(tmp_path: Path) -> History:
    return record_run(tmp_path / "history.jsonl")
