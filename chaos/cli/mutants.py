"""``evchaos mutants``: the kill matrix of the suite against deliberate bugs kept as patch files.

    evchaos mutants                               every mutants/*.patch against the chaos suite
    evchaos mutants --only naive-decoding -- scenarios/test_message_faults.py -m chaos
    evchaos mutants --patches my-mutants -- tests/my_suite -m chaos    your own patches and suite

Exit status: 0 when every mutant is killed by the rule its header names, 1 otherwise, 2 for bad
input (no patches, a header without its rule, a baseline that already fails).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from chaos.infra import lifeline
from chaos.mutants import matrix
from chaos.mutants.patches import MutantError, discover
from chaos.mutants.runner import Outcome, run_suite

DEFAULT_SUITE = ["scenarios", "-m", "chaos", "-n", "3"]


def say(text: str) -> None:
    print(f"[evchaos mutants] {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evchaos mutants", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patches", default="mutants", help="folder of *.patch files (default: %(default)s)")
    parser.add_argument("--only", action="append", help="run just this mutant (repeatable)")
    parser.add_argument("--out", default="reports/mutants.json", help="the matrix as JSON (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds one suite run may take")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run on the unchanged project")
    parser.add_argument("--full", action="store_true",
                        help="run the whole suite on every mutant (default: stop once its own rule broke)")
    parser.add_argument("suite", nargs="*", help="pytest arguments after --, default: " + " ".join(DEFAULT_SUITE))
    return parser


def run_mutants(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    root = Path.cwd()
    try:
        mutants = discover(Path(args.patches), args.only)
    except MutantError as exc:
        print(f"evchaos mutants: {exc}", file=sys.stderr)
        return 2
    suite = args.suite or DEFAULT_SUITE
    lifeline.activate()  # a killed matrix run takes its suite, and everything that suite started, with it
    say(f"{len(mutants)} mutant(s), suite: pytest {' '.join(suite)}")
    outcomes: list[Outcome] = []
    if not args.no_baseline:
        say("baseline: the suite on the unchanged project first (a failing suite would kill every mutant)")
        baseline = run_suite(root, suite, None, args.timeout, say)
        outcomes.append(baseline)
        if baseline.killed or baseline.error:
            print(matrix.table(outcomes), file=sys.stderr)
            print("evchaos mutants: the suite fails without any mutant; fix that first", file=sys.stderr)
            return 2
    for index, mutant in enumerate(mutants, 1):
        say(f"[{index}/{len(mutants)}] {mutant.name}: {mutant.title} (must be caught by {mutant.rule})")
        outcomes.append(run_suite(root, suite, mutant, args.timeout, say, full=args.full))
    print(matrix.table(outcomes))
    print(f"matrix: {matrix.write(outcomes, Path(args.out)).resolve()}")
    return 0 if all(o.by_its_rule for o in outcomes if o.mutant is not None) else 1
