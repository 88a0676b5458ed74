"""Suite cost and time to recovery per fault kind, from a real run of the chaos suite.

    python benchmarks/suite.py [--quick] [--figures FILE]

Runs ``pytest scenarios -m chaos`` (``--quick``: the baseline and the link-cut suite only) with
``--chaos-figures``, then reads one line of figures per scenario: wall time, the time it spent with
faults active on purpose, and time to recovery. Per-scenario overhead is wall time minus fault time
(the baseline for that figure, measured in the same run); time to recovery is grouped by fault kind.
``--figures FILE`` skips the run and summarises a figures file from an earlier ``make chaos``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, goal, say, summary, write

TTL = 5.0  # the suites' reservation TTL (conftest.TTL); goal: recovery within TTL + 1 s
QUICK = ["scenarios/test_baseline.py", "scenarios/test_link_cuts.py"]


def run_suite(quick: bool, figures: Path) -> tuple[float, int]:
    argv = [sys.executable, "-m", "pytest", *(QUICK if quick else ["scenarios"]), "-m", "chaos",
            f"--chaos-figures={figures}", "-q", "-p", "no:cacheprovider"]
    say(f"running: {' '.join(argv[2:])}")
    started = time.monotonic()
    code = subprocess.call(argv, cwd=ROOT)
    return time.monotonic() - started, code


def analyse(rows: list[dict[str, Any]]) -> dict[str, Any]:
    overhead = [r["overhead_s"] for r in rows]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row["recovery_s"] is not None:
            for kind in row["fault_kinds"] or ["none"]:
                by_kind[kind].append(row["recovery_s"])
    recovery = {kind: summary(values) for kind, values in sorted(by_kind.items())}
    return {
        "scenarios": len(rows),
        "failed": [r["scenario"] for r in rows if not r["ok"]],
        "overhead_s": summary(overhead) if overhead else None,
        "wall_per_scenario_s": summary([r["wall_s"] for r in rows]) if rows else None,
        "recovery_by_fault_kind_s": recovery,
        "per_scenario": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="baseline + link cuts only")
    parser.add_argument("--figures", type=Path, help="summarise this figures file instead of running the suite")
    args = parser.parse_args(argv)
    wall: float | None = None
    if args.figures:
        rows = [json.loads(line) for line in args.figures.read_text().splitlines() if line.strip()]
    else:
        with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
            figures = Path(tmp) / "figures.jsonl"
            wall, code = run_suite(args.quick, figures)
            rows = [json.loads(line) for line in figures.read_text().splitlines()] if figures.exists() else []
            say(f"suite finished in {wall:.0f} s (pytest exit {code})")
    result = analyse(rows)
    worst_recovery = max((s["max"] for s in result["recovery_by_fault_kind_s"].values()), default=None)
    table = [
        goal("Per-scenario overhead, median", result["overhead_s"] and result["overhead_s"]["median"], "<=", 2.0, " s"),
        goal("Time to recovery, worst fault kind (max)", worst_recovery, "<=", TTL + 1.0, " s"),
    ]
    if wall is not None and not args.quick:
        table.insert(0, goal("Whole chaos suite, wall time", wall, "<=", 300.0, " s"))
    write("suite", {"quick": args.quick, "suite_wall_s": wall, **result, "goal_table": table})
    for kind, stats in result["recovery_by_fault_kind_s"].items():
        say(f"recovery after {kind:<12} median {stats['median']:.2f} s  max {stats['max']:.2f} s  (n={stats['n']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
