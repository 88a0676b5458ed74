"""Per-scenario figures: overhead is wall time minus the time deliberately spent under faults."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chaos.core.history import History
from chaos.report.figures import scenario_figures, schedule_spans, union_length


def test_overlapping_spans_are_counted_once() -> None:
    assert union_length([(0, 2), (1, 3), (5, 6)]) == 3 + 1
    assert union_length([]) == 0


def scenario_of(history) -> SimpleNamespace:  # what scenario_figures reads of a Scenario
    return SimpleNamespace(name="run", seed=7, history=history, failed=[], recovery=None,
                           spec=SimpleNamespace(services=[]))


def test_fault_windows_are_deliberate_time_and_the_rest_is_overhead(run_history: History) -> None:
    # windows 3-13 (with 8-11 inside it) and 22-30 (still open at the end)
    figures = scenario_figures(scenario_of(run_history), wall=40.0)
    assert figures["fault_s"] == figures["deliberate_s"] == pytest.approx(10 + 8)
    assert figures["overhead_s"] == pytest.approx(40 - 18)
    assert figures["fault_kinds"] == ["kill", "pause", "timeout"]


def test_a_schedule_counts_whole_with_its_gaps_and_quiet_period() -> None:
    def at(t: float, event: str, **fields: object) -> dict[str, object]:
        return {"t": t, "type": event, **fields}

    window = {"name": "driver link down", "kind": "link-down", "target": "driver"}
    history = History.from_events([
        at(0.0, "meta", start="2026-11-27T12:00:00+00:00"),
        at(1.0, "schedule", phase="planned", schedule={}),
        at(2.0, "fault_start", window="w1", **window, params={}),
        at(3.0, "fault_end", window="w1", **window),
        at(5.0, "fault_start", window="w2", **window, params={}),  # after a gap of 2 s
        at(6.0, "fault_end", window="w2", **window),
        at(9.0, "schedule", phase="ran", schedule={}),  # after the quiet period
    ])
    assert schedule_spans(history) == [(1.0, 9.0)]
    figures = scenario_figures(scenario_of(history), wall=12.0)
    assert (figures["fault_s"], figures["deliberate_s"], figures["overhead_s"]) == (2.0, 8.0, 4.0)


def test_a_fault_target_is_grouped_as_a_broker_a_role_or_a_topic() -> None:
    from chaos.core.spec import ServiceSpec, SystemSpec
    from chaos.report.figures import component_of

    spec = SystemSpec("toy", [ServiceSpec("cp-CP_001", ["true"], role="cp"), ServiceSpec("central", ["true"],
                                                                                       role="central")])
    assert [component_of(t, spec) for t in ("broker:leader", "broker-2", "cp-CP_001", "central", "cp", "cp-events")] \
        == ["broker", "broker", "cp", "central", "cp", "topic cp-events"]
