"""A test's failure is its scenario's broken verdicts, given once, as the call ends (not a teardown error)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from chaos import pytest_plugin
from chaos.checks.base import Verdict
from chaos.core.scenario import ScenarioFailed
from chaos.core.system import TeardownFailed


@dataclass
class FakeScenario:
    name: str
    verdicts: list[Verdict]
    asserted: bool = False

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]


@dataclass
class FakeOutcome:
    """What pluggy hands a hook wrapper: the call's exception, if any, and a way to replace it."""

    excinfo: tuple[Any, BaseException, Any] | None = None
    forced: list[BaseException] = field(default_factory=list)

    def force_exception(self, exc: BaseException) -> None:
        self.forced.append(exc)


class FakeItem:
    def __init__(self, scenarios: list[FakeScenario]) -> None:
        self.stash = pytest.Stash()
        self.stash[pytest_plugin.SCENARIOS] = scenarios  # type: ignore[assignment]


BROKEN = [Verdict("recovery", True, "back in 1 s"),
          Verdict("transient-state-limit", False, "CP_001 reserved for 47.2 s (limit 15 s)", resource="CP_001")]


def end_call(monkeypatch: pytest.MonkeyPatch, scenarios: list[FakeScenario], raised: BaseException | None = None,
             torn: tuple[str, ...] = ()) -> FakeOutcome:
    finished: list[str] = []

    def finish(item: Any, made: list[FakeScenario]) -> list[str]:
        finished.extend(s.name for s in made)
        return list(torn)

    monkeypatch.setattr(pytest_plugin, "finish", finish)
    outcome = FakeOutcome((type(raised), raised, None) if raised is not None else None)
    wrapper = pytest_plugin.pytest_runtest_call(FakeItem(scenarios))  # type: ignore[arg-type]
    next(wrapper)
    with pytest.raises(StopIteration):
        wrapper.send(outcome)  # type: ignore[arg-type]
    assert finished == [s.name for s in scenarios], "every scenario is finished as the call ends"
    return outcome


def test_broken_verdicts_the_test_never_asserted_fail_it_with_those_verdicts(monkeypatch):
    outcome = end_call(monkeypatch, [FakeScenario("stuck CP", BROKEN)])
    (failure,) = outcome.forced
    assert isinstance(failure, ScenarioFailed)
    assert str(failure).splitlines() == [
        "stuck CP: broken rules: transient-state-limit",
        "  - [transient-state-limit CP_001] CP_001 reserved for 47.2 s (limit 15 s)"]


def test_a_test_that_stopped_early_fails_once_with_the_verdicts_first_and_its_own_error_after(monkeypatch):
    error = RuntimeError("the fault could not be applied")
    (failure,) = end_call(monkeypatch, [FakeScenario("stuck CP", BROKEN)], raised=error).forced
    assert str(failure).startswith("stuck CP: broken rules: transient-state-limit")
    assert str(failure).endswith("before that, the test itself stopped with RuntimeError: the fault could not be "
                                 "applied") and failure.__cause__ is error


def test_asserted_or_holding_verdicts_leave_the_outcome_alone(monkeypatch):
    assert end_call(monkeypatch, [FakeScenario("expected to break", BROKEN, asserted=True)]).forced == []
    assert end_call(monkeypatch, [FakeScenario("fine", BROKEN[:1])], raised=ValueError("x")).forced == []


def test_a_failed_tear_down_comes_after_the_verdicts_and_fails_a_passing_test_on_its_own(monkeypatch):
    torn = ("stuck CP: tear-down step 1 (drop-db) exited 2:\ndatabase busy",)
    (failure,) = end_call(monkeypatch, [FakeScenario("stuck CP", BROKEN)], torn=torn).forced
    text = str(failure)
    assert isinstance(failure, ScenarioFailed) and text.startswith("stuck CP: broken rules: transient-state-limit")
    assert text.index("the system's tear-down failed:\nstuck CP: tear-down step 1") > text.index("CP_001 reserved")
    (alone,) = end_call(monkeypatch, [FakeScenario("fine", BROKEN[:1])], torn=torn).forced
    assert isinstance(alone, TeardownFailed) and "database busy" in str(alone)
