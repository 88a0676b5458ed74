"""Per-scenario figures as JSON lines: what the suite-cost and time-to-recovery benchmarks read.

One line per scenario: its wall time, the time it deliberately spent under faults, time to
recovery, the fault kinds and the verdict. ``overhead = wall - deliberate`` is what the harness
itself costs: starting the system, the requests before and after, judging, publishing. Deliberate
time is every fault window, and for a schedule its whole timeline from first step to the end of its
quiet period (the gaps between faults and the quiet period are part of what it plays), counted once
where they overlap. Written by the pytest plugin with ``--chaos-figures FILE``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chaos.checks.views import fault_windows
from chaos.core.history import History
from chaos.core.scenario import Scenario
from chaos.core.spec import SystemSpec

_lock = threading.Lock()


def union_length(spans: Iterable[tuple[float, float]]) -> float:
    """Total length covered by ``spans``: overlapping spans are counted once."""
    total = 0.0
    covered_to = float("-inf")
    for start, end in sorted(spans):
        if end > covered_to:
            total += end - max(start, covered_to)
            covered_to = end
    return total


def schedule_spans(history: History) -> list[tuple[float, float]]:
    """(start, end) of each schedule run: from its ``planned`` record to its ``ran`` record."""
    spans, started = [], None
    for event in history.events:
        if event["type"] == "schedule" and event.get("phase") == "planned":
            started = event["t"]
        elif event["type"] == "schedule" and event.get("phase") == "ran" and started is not None:
            spans.append((started, event["t"]))
            started = None
    return spans


def component_of(target: str, spec: SystemSpec) -> str:
    """What a fault hit, as the suite overview groups it: a broker, a role (a service counts as its
    role: ``cp-CP_001`` is a ``cp``), or a topic (what message faults write into)."""
    if target.startswith("broker"):
        return "broker"
    roles = {s.name: s.role for s in spec.services}
    if target in roles:
        return roles[target] or target
    if target in roles.values():
        return target
    return f"topic {target}"


def scenario_figures(scenario: Scenario, wall: float) -> dict[str, Any]:
    history = scenario.history
    windows = fault_windows(history)
    fault_spans = [(w.start, w.end if w.end is not None else history.end) for w in windows]
    faults = union_length(fault_spans)
    deliberate = union_length([*fault_spans, *schedule_spans(history)])
    rec = scenario.recovery
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "ok": not scenario.failed,
        "failed": sorted({v.invariant for v in scenario.failed}),
        "wall_s": round(wall, 3),
        "fault_s": round(faults, 3),
        "deliberate_s": round(deliberate, 3),
        "overhead_s": round(wall - deliberate, 3),
        "fault_kinds": sorted({w.kind for w in windows}),
        "faults": sorted({(w.kind, component_of(w.target, scenario.spec)) for w in windows}),
        "recovery_s": None if rec is None else rec.request_recovery,
    }


def append(path: str | Path, figures: dict[str, Any]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock, target.open("a") as out:
        out.write(json.dumps(figures) + "\n")
