"""Run every benchmark, then gather their figures and goals into ``reports/bench/summary.json``.

    python benchmarks/run_all.py [--quick] [--only NAME ...]

Each benchmark runs in a process of its own (a crash or a leaked thread in one cannot spoil the
next one's figures) as ``python benchmarks/NAME.py [--quick]``; that is the whole contract: write
``reports/bench/NAME.json`` through ``benchmarks.common.write``, with a ``goal_table`` list made
by ``benchmarks.common.goal``, and accept ``--quick``. ``suite`` runs if ``benchmarks/suite.py``
exists. Benchmarks measure, they do not pass or fail: the exit status is non-zero only if one
crashed; missed goals show as "no" in the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import OUT_DIR, ROOT, say, write

BENCH_DIR = Path(__file__).resolve().parent
ORDER = ("decode", "infra", "startup", "central", "driver_recovery", "docker", "suite")  # cheap and independent first


def available(bench_dir: Path = BENCH_DIR) -> list[str]:
    return [name for name in ORDER if (bench_dir / f"{name}.py").exists()]


def parse_args(argv: list[str] | None, names: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs and trials: a smoke run, not figures")
    parser.add_argument("--only", action="append", choices=names, metavar="NAME",
                        help=f"run only this benchmark (repeatable); one of: {', '.join(names)}")
    return parser.parse_args(argv)


def plan(args: argparse.Namespace, names: list[str]) -> list[tuple[str, list[str]]]:
    """(name, argv) for each benchmark to run, in ``ORDER``."""
    chosen = [n for n in names if not args.only or n in args.only]
    extra = ["--quick"] if args.quick else []
    return [(n, [sys.executable, str(BENCH_DIR / f"{n}.py"), *extra]) for n in chosen]


def run(name: str, argv: list[str], index: int, total: int) -> dict[str, Any]:
    say(f"[{index}/{total}] {name}: starting ({' '.join(argv[1:])})")
    started = time.monotonic()
    rc = subprocess.run(argv, cwd=ROOT, check=False).returncode
    seconds = round(time.monotonic() - started, 1)
    say(f"[{index}/{total}] {name}: {'done' if rc == 0 else f'FAILED (exit {rc})'} in {seconds} s")
    return {"exit": rc, "seconds": seconds}


def collect(names: list[str], runs: dict[str, dict[str, Any]], out_dir: Path = OUT_DIR) -> dict[str, Any]:
    """Every benchmark's latest JSON, whether run now or earlier (``fresh`` says which), and its goals."""
    benchmarks, goals = {}, []
    for name in names:
        path = out_dir / f"{name}.json"
        doc = json.loads(path.read_text()) if path.exists() else None
        fresh = name in runs and runs[name]["exit"] == 0 and doc is not None
        benchmarks[name] = {"json": str(path) if doc else None, "when": doc and doc.get("when"),
                            "fresh": fresh, **runs.get(name, {})}
        for row in (doc or {}).get("goal_table", []):
            goals.append({"benchmark": name, "fresh": fresh, **row})
    return {"benchmarks": benchmarks, "goals": goals}


def table(goals: list[dict[str, Any]]) -> str:
    """A plain-text (and Markdown) table: benchmark, figure, measured, goal, met."""
    def fmt(value: Any, unit: str) -> str:
        if value is None:
            return "n/a"
        if isinstance(value, float):
            return f"{value:.0f}{unit}" if abs(value) >= 100 else f"{value:.3g}{unit}"
        return f"{value}{unit}"

    header = ["benchmark", "figure", "measured", "goal", "met"]
    rows = [[g["benchmark"] + ("" if g["fresh"] else " (old)"), g["figure"], fmt(g["measured"], g.get("unit", "")),
             g["goal"], "yes" if g["met"] else "no"] for g in goals]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in [header, *rows]]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    names = available()
    args = parse_args(argv, names)
    todo = plan(args, names)
    runs = {name: run(name, cmd, i, len(todo)) for i, (name, cmd) in enumerate(todo, 1)}
    summary = collect(names, runs)
    summary["quick"] = args.quick
    write("summary", summary)
    print(table(summary["goals"]))
    met = sum(g["met"] for g in summary["goals"])
    say(f"{met}/{len(summary['goals'])} goals met; figures in {OUT_DIR}")
    return 1 if any(r["exit"] != 0 for r in runs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
