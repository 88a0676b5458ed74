"""The kill matrix: one row per mutant, as a table for people and JSON for the report and for CI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from chaos.mutants.runner import Outcome


def score(outcomes: Sequence[Outcome]) -> dict[str, int]:
    mutants = [o for o in outcomes if o.mutant is not None]
    return {
        "mutants": len(mutants),
        "killed": sum(o.killed for o in mutants),
        "killed_by_their_rule": sum(o.by_its_rule for o in mutants),
        "survived": sum(o.applied and not o.error and not o.killed for o in mutants),
        "not_run": sum(not o.applied or bool(o.error) for o in mutants),
    }


def table(outcomes: Sequence[Outcome]) -> str:
    rows = [("mutant", "its rule", "verdict", "rules that broke", "failed scenarios")]
    for o in outcomes:
        scenarios = sorted(o.scenarios) or o.failed_tests
        shown = ", ".join(scenarios[:3]) + (f" (+{len(scenarios) - 3})" if len(scenarios) > 3 else "")
        shown = (shown or "-") + (" (stopped there)" if o.stopped_early else "")
        rows.append((o.mutant or "(baseline)", o.rule or "-", o.verdict, ", ".join(o.rules) or "-", shown))
    widths = [min(48, max(len(row[i]) for row in rows)) for i in range(len(rows[0]))]
    lines = ["  ".join(cell[:width].ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    s = score(outcomes)
    lines.append(f"{s['killed_by_their_rule']} of {s['mutants']} mutants killed by their own rule; "
                 f"{s['killed']} killed, {s['survived']} survived, {s['not_run']} not run")
    return "\n".join(lines)


def write(outcomes: Sequence[Outcome], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"score": score(outcomes), "mutants": [o.to_dict() for o in outcomes]}, indent=2))
    return path
