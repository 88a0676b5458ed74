"""A scenario told as steps with their times: what started, what broke and healed, what ran, what held.

The report's test page reads top to bottom as the run happened: services started (how long they took
to be ready), each fault from its apply to its heal (with what it did), the workload, and the checks,
one step per verdict, failed first. Built from the history alone, after the run, so it needs no
cooperation from a suite; ``chaos.report.allure`` writes the steps into the test with these times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from chaos.checks.base import Verdict
from chaos.checks.views import fault_windows
from chaos.core.history import History

PASSED, FAILED, BROKEN = "passed", "failed", "broken"


@dataclass(frozen=True)
class Step:
    """One step of the story: epoch seconds, a status (``passed``, ``failed``, ``broken``), sub-steps."""

    name: str
    start: float
    stop: float
    status: str = PASSED
    children: tuple[Step, ...] = field(default=())
    details: str = ""
    """Why it failed or broke (a verdict's whole message, a fault's error): the step's error."""
    parameters: tuple[tuple[str, str], ...] = ()
    """What it was given (a fault's kind, target and parameters), shown beside its name."""


def story(history: History, verdicts: Sequence[Verdict] = ()) -> list[Step]:
    """The steps of one scenario's run, in time order, the checks last."""
    epoch = history.clock.start_wall.timestamp()
    steps: list[Step] = []
    for event in history.events:
        if event["type"] == "started":
            names = event.get("services") or []
            began = float(event["since"]) if event.get("since") is not None else float(event["t"])
            took = f"{event['t'] - began:.1f} s to ready" if event.get("ready", True) else "not waited for"
            steps.append(Step(f"start {', '.join(names)} ({took})", epoch + began, epoch + event["t"]))
    end = history.end
    for window in fault_windows(history):
        healed = window.end if window.end is not None else end
        name = f"fault {window.name}: applied, healed after {healed - window.start:.1f} s"
        if window.end is None:
            name = f"fault {window.name}: applied, never healed"
        given = [("kind", window.kind), ("target", window.target),
                 *((k, str(v)) for k, v in sorted(window.params.items()))]
        if window.injected:
            given.append(("records written", str(len(window.injected))))
        steps.append(Step(name, epoch + window.start, epoch + healed, BROKEN if window.error else PASSED,
                          details=window.error or "", parameters=tuple(given)))
    for event in history.events:
        if event["type"] == "note" and event.get("text") == "workload done":
            counts = event.get("operations") or {}
            errors = event.get("errors") or []
            began = next((e["t"] for e in history.events if e["type"] == "note" and e.get("text") == "workload"),
                         event["t"])
            total = sum(counts.values())
            mix = ", ".join(f"{f} {n}" for f, n in sorted(counts.items()))
            steps.append(Step(f"workload: {total} operations ({mix})", epoch + began, epoch + event["t"],
                              BROKEN if errors else PASSED, details="\n".join(map(str, errors))))
    steps.sort(key=lambda s: s.start)
    if verdicts:
        steps.append(checks_step(verdicts, epoch + end))
    return steps


def checks_step(verdicts: Sequence[Verdict], at: float) -> Step:
    """The checks as one step, a sub-step per verdict (failed first), failed if any verdict is."""
    failed = [v for v in verdicts if not v.ok]
    def where(v: Verdict) -> str:
        return f"{v.invariant}{f' [{v.resource}]' if v.resource else ''}"

    children = tuple(
        Step(f"FAILED: {where(v)}", at, at, FAILED, details=v.message) if not v.ok
        else Step(f"ok: {where(v)}: {v.message}", at, at)
        for v in [*failed, *(v for v in verdicts if v.ok)])
    head = (f"checks: {len(failed)} of {len(verdicts)} verdicts broken ({', '.join(broken_rules(verdicts))})"
            if failed else f"checks: all {len(verdicts)} verdicts hold")
    return Step(head, at, at, FAILED if failed else PASSED, children)


def broken_rules(verdicts: Sequence[Verdict]) -> list[str]:
    """The rules with a failed verdict, each once, in the order they were judged."""
    return list(dict.fromkeys(v.invariant for v in verdicts if not v.ok))
