"""The fresh request after a heal asks again, as a driver would, only while it is denied for a
passing reason, and only within the recovery limit (fakes for the driver; the logic is the suite's)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from scenarios.ev import scenario as ev_scenario
from scenarios.ev.scenario import EvScenario


@dataclass
class FakeCharge:
    state: str
    reason: str | None = None
    invoked_t: float = field(default_factory=time.monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    client: Any = field(default_factory=lambda: SimpleNamespace(driver_id="D2"))

    def __post_init__(self) -> None:
        self.snapshot = {"state": self.state, "reason": self.reason}
        if self.state in ("denied", "completed"):
            self.done.set()


class FakeRun:
    """What ``ask_again_while_denied`` uses of an ``EvScenario``: invariants, a clock, waits, charges."""

    def __init__(self, answers: list[FakeCharge], window: float = 3.0) -> None:
        self.scenario = SimpleNamespace(invariants=SimpleNamespace(recovery_within=window))
        self.history = SimpleNamespace(clock=SimpleNamespace(now=time.monotonic))
        self.answers, self.asked = answers, 0

    def wait_for(self, what: str, condition, timeout: float) -> object:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(what)
            time.sleep(0.01)
        return True

    def charge(self, driver: str, duration_s: float | None = None) -> FakeCharge:
        self.asked += 1
        return self.answers.pop(0)


@pytest.fixture(autouse=True)
def quick_think(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev_scenario, "THINK_S", 0.05)


def ask(run: FakeRun, first: FakeCharge) -> FakeCharge:
    return EvScenario.ask_again_while_denied(run, first)  # type: ignore[arg-type]


def test_a_passing_denial_is_asked_again_until_served() -> None:
    served = FakeCharge("charging")
    run = FakeRun([FakeCharge("denied", "cp_faulty"), served])
    assert ask(run, FakeCharge("denied", "no_cp_available")) is served and run.asked == 2


def test_a_lasting_denial_is_not_asked_again() -> None:
    first = FakeCharge("denied", "unknown_cp")
    run = FakeRun([FakeCharge("charging")])
    assert ask(run, first) is first and run.asked == 0


def test_asking_stops_at_the_recovery_limit() -> None:
    run = FakeRun([FakeCharge("denied", "no_cp_available") for _ in range(100)], window=0.5)
    started = time.monotonic()
    last = ask(run, FakeCharge("denied", "no_cp_available"))
    assert last.state == "denied" and 0 < run.asked < 100 and time.monotonic() - started < 5
