"""Per-scenario figures as JSON lines: what the suite-cost and time-to-recovery benchmarks read.

One line per scenario: its wall time, the time it deliberately spent with faults active (so
``overhead = wall - faults`` is what the harness itself costs), time to recovery, the fault kinds
and the verdict. Written by the pytest plugin with ``--chaos-figures FILE``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from chaos.checks.views import fault_windows
from chaos.scenario import Scenario

_lock = threading.Lock()


def scenario_figures(scenario: Scenario, wall: float) -> dict[str, Any]:
    windows = fault_windows(scenario.history)
    spans = sorted((w.start, w.end if w.end is not None else scenario.history.end) for w in windows)
    faults = 0.0
    covered_to = float("-inf")
    for start, end in spans:  # the union of the windows: overlapping faults are waited out once
        if end > covered_to:
            faults += end - max(start, covered_to)
            covered_to = end
    rec = scenario.recovery
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "ok": not scenario.failed,
        "failed": sorted({v.invariant for v in scenario.failed}),
        "wall_s": round(wall, 3),
        "fault_s": round(faults, 3),
        "overhead_s": round(wall - faults, 3),
        "fault_kinds": sorted({w.kind for w in windows}),
        "recovery_s": None if rec is None else rec.request_recovery,
    }


def append(path: str | Path, figures: dict[str, Any]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock, target.open("a") as out:
        out.write(json.dumps(figures) + "\n")
