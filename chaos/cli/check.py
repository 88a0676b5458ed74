"""``evchaos check HISTORY``: judge a saved history offline, with the same checks a test runs.

By default the rules are the ones recorded in the history's ``meta`` line (the spec's invariants at
run time), so a history attached to a failed CI run is re-judged exactly; flags override them to
ask "would it pass with a 30 s limit?". Exit status: 0 all invariants hold, 1 one or more failed,
2 the input could not be read (the message says what to fix).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from chaos.checks import InvariantSpec, check_names, latency_percentiles, run_checks
from chaos.checks.measures import recovery
from chaos.core.history import History, HistoryError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def parse_limit(text: str) -> tuple[str, float]:
    """``pending=15`` -> ("pending", 15.0)."""
    state, sep, value = text.partition("=")
    try:
        if not sep or not state:
            raise ValueError
        limit = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write STATE=SECONDS, e.g. --limit pending=15") from None
    if limit < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a limit cannot be negative")
    return state, limit


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evchaos check",
        description="Re-run the invariant checks on a saved JSON-lines history.",
    )
    parser.add_argument("history", help="the history file (JSON lines) written by a run")
    parser.add_argument(
        "--limit",
        action="append",
        type=parse_limit,
        default=[],
        metavar="STATE=SECONDS",
        help="a transient state and how long a resource may stay in it (repeatable)",
    )
    parser.add_argument("--deadline", type=float, help="seconds within which every request must end")
    parser.add_argument(
        "--recovery", type=float, help="seconds after the last heal for a fresh request to succeed"
    )
    parser.add_argument(
        "--request-op", action="append", default=[], help="an operation name that is a request"
    )
    parser.add_argument(
        "--check", action="append", choices=check_names(), help="run only this check (repeatable)"
    )
    parser.add_argument("--seed", type=int, help="the seed to print in replay hints (default: the history's)")
    parser.add_argument("--json", action="store_true", help="print verdicts and measures as JSON")
    return parser


def params_for(history: History, args: argparse.Namespace) -> InvariantSpec:
    """The recorded invariants, overridden by the flags given."""
    recorded = history.meta.get("invariants")
    try:
        params = InvariantSpec.from_dict(recorded) if isinstance(recorded, dict) else InvariantSpec()
    except (ValueError, TypeError, AttributeError) as exc:
        raise HistoryError(f"the history's recorded invariants are unreadable: {exc}") from None
    overrides: dict[str, Any] = {}
    if args.limit:
        overrides["transient_limits"] = dict(args.limit)
    if args.deadline is not None:
        overrides["request_deadline"] = args.deadline
    if args.recovery is not None:
        overrides["recovery_within"] = args.recovery
    if args.request_op:
        overrides["request_ops"] = frozenset(args.request_op)
    return params.with_overrides(**overrides)


def run_check(argv: list[str]) -> int:
    """The command's body; returns the exit status instead of exiting (the caller exits)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem
        return EXIT_OK if exc.code == 0 else EXIT_BAD_INPUT
    try:
        history = History.load(args.history)
        params = params_for(history, args)
        if args.seed is not None:  # the seed lives in the history's meta line, as the run recorded it
            history.meta["seed"] = args.seed
    except HistoryError as exc:
        print(f"evchaos check: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    recorded_checks = history.meta.get("checks")  # the checks the scenario's test map named, if any
    verdicts = run_checks(history, params, args.check or recorded_checks)
    measures = {
        "recovery": recovery(history, params).to_dict(),
        "latency": latency_percentiles(history, params.request_ops or None).to_dict(),
    }
    if args.json:
        print(json.dumps({"verdicts": [v.to_dict() for v in verdicts], "measures": measures}, indent=2))
    else:
        print_text(verdicts, measures)
    return EXIT_FAILED if any(not v.ok for v in verdicts) else EXIT_OK


def print_text(verdicts: list[Any], measures: dict[str, dict[str, Any]]) -> None:
    for verdict in verdicts:
        print(verdict)
    ttr = measures["recovery"]["request_recovery"]
    latency = measures["latency"]
    print(f"time to recovery: {'n/a' if ttr is None else f'{ttr:.1f} s'}")
    if latency["count"]:
        print(
            f"request latency: n={latency['count']} p50={latency['p50']:.3f} s "
            f"p90={latency['p90']:.3f} s p99={latency['p99']:.3f} s max={latency['max']:.3f} s"
        )
    failed = sum(not v.ok for v in verdicts)
    print(f"{len(verdicts) - failed} ok, {failed} failed")
