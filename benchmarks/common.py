"""Shared plumbing for benchmarks: repeated measurement, medians, percentiles, JSON out.

Every benchmark writes ``reports/bench/NAME.json`` with the machine's core count and, for every
ratio it quotes, the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "reports" / "bench"


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank: honest for small samples."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no samples")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def repeat(label: str, runs: int, measure: Callable[[], float]) -> dict[str, float]:
    """Run ``measure`` ``runs`` times, printing each figure; return the summary."""
    values = []
    for i in range(runs):
        value = measure()
        values.append(value)
        say(f"{label}: run {i + 1}/{runs}: {value:.4f}")
    return summary(values)


def runs_from_args(doc: str | None, argv: list[str] | None, runs: int, quick_runs: int) -> int:
    """How many runs a repeat-and-median benchmark makes: ``--runs N``, or ``quick_runs`` with ``--quick``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--quick", action="store_true", help=f"{quick_runs} run(s) of each: a smoke run")
    args = parser.parse_args(argv)
    return quick_runs if args.quick else int(args.runs)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def goal(figure: str, measured: float | None, op: str, target: float, unit: str = "") -> dict[str, Any]:
    """One row of the goal table: ``op`` is ``"<="`` or ``">="``; a missing figure never counts as met."""
    if op not in ("<=", ">="):
        raise ValueError(f"op must be '<=' or '>=', not {op!r}")
    met = measured is not None and (measured <= target if op == "<=" else measured >= target)
    return {"figure": figure, "measured": measured, "goal": f"{op} {target:g}{unit}", "unit": unit, "met": met}


def write(name: str, figures: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        **figures,
    }
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    say(f"wrote {path}")
    return path
