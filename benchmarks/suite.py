"""Suite cost and time to recovery per fault kind, from a real run of the chaos suite.

    python benchmarks/suite.py [--quick] [--workers N] [--figures FILE]

Times ``make chaos`` itself (the tox environment, the suite with ``EVCHAOS_WORKERS`` parallel
workers, the HTML report): the figure a team waits for. ``--quick`` runs ``pytest`` directly on the
baseline and the link-cut suite only. Either way the plugin writes one line of figures per scenario
(``--chaos-figures``, see ``chaos/report/figures.py``): wall time, the time it deliberately spent
under faults (every fault window; a schedule's whole timeline), and time to recovery. Per-scenario
overhead is wall time minus that deliberate time (the baseline for that figure, measured in the same
run); time to recovery is grouped by fault kind. ``--workers 0`` runs the
scenarios one by one, which isolates the harness's own cost from two workers sharing 2 cores.
``--figures FILE`` skips the run and summarises a figures file from an earlier ``make chaos``.
"""

from __future__ import annotations

import argparse
import json
import os
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


def run_suite(quick: bool, workers: int, figures: Path) -> tuple[float, int]:
    """Run ``make chaos`` (or, ``quick``, pytest on a few suites); its wall time and exit code."""
    # When run from `tox -e bench`, that tox's own variables must not steer the `tox -e chaos` inside.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOX_") and k != "VIRTUAL_ENV"}
    env["EVCHAOS_WORKERS"] = str(workers)
    if quick:
        argv = [sys.executable, "-m", "pytest", *QUICK, "-m", "chaos", "-n", str(workers),
                f"--chaos-figures={figures}", "-q", "-p", "no:cacheprovider"]
    else:
        argv = ["make", "chaos", f"ARGS=--chaos-figures={figures}"]
    say(f"running: {' '.join(argv)} with EVCHAOS_WORKERS={workers}")
    started = time.monotonic()
    code = subprocess.call(argv, cwd=ROOT, env=env)
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
    parser.add_argument("--workers", type=int, default=int(os.environ.get("EVCHAOS_WORKERS", "3")),
                        help="parallel workers, as make chaos (default: EVCHAOS_WORKERS or 3; 0: one by one)")
    args = parser.parse_args(argv)
    wall: float | None = None
    if args.figures:
        rows = [json.loads(line) for line in args.figures.read_text().splitlines() if line.strip()]
    else:
        with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
            figures = Path(tmp) / "figures.jsonl"
            wall, code = run_suite(args.quick, args.workers, figures)
            rows = [json.loads(line) for line in figures.read_text().splitlines()] if figures.exists() else []
            say(f"suite finished in {wall:.0f} s (exit {code})")
    result = analyse(rows)
    worst_recovery = max((s["max"] for s in result["recovery_by_fault_kind_s"].values()), default=None)
    table = [
        goal("Per-scenario overhead, median", result["overhead_s"] and result["overhead_s"]["median"], "<=", 2.0, " s"),
        goal("Time to recovery, worst fault kind (max)", worst_recovery, "<=", TTL + 1.0, " s"),
    ]
    if wall is not None and not args.quick:
        table.insert(0, goal("Whole `make chaos` (suite + report), wall time", wall, "<=", 300.0, " s"))
    workers = None if args.figures else args.workers
    write("suite", {"quick": args.quick, "workers": workers, "suite_wall_s": wall, **result, "goal_table": table})
    for kind, stats in result["recovery_by_fault_kind_s"].items():
        say(f"recovery after {kind:<12} median {stats['median']:.2f} s  max {stats['max']:.2f} s  (n={stats['n']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
