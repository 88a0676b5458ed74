"""No resource stays in a transient state longer than that state's limit.

Transient states (a reservation waiting for a start, a handshake in progress) are where a lost
message leaves a resource stuck; the limit is what the system promises for undoing them. A resource
still in the state when the history ends fails too once its limit has passed by then.

A state that only a message can end (a charge ends when its completion arrives) cannot end while
the message path is down, however long the fault holds it: ``transient_paused_by`` names, per
state, the fault windows that stop its clock. An entry is a target prefix (``broker:`` for a
cluster that is away: any kind) or ``kind@prefix`` (``kill@central``: that kind only). A state the
system ends by its own timer (a reservation's TTL) cannot end while the process keeping that timer
is dead or stopped, so it names that process's process faults, never its link cuts: a cut process
still keeps its own time.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict, secs
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import FaultWindow, covered, state_intervals
from chaos.core.history import History


def stops_clock(window: FaultWindow, entries: tuple[str, ...]) -> bool:
    """True if one of ``entries`` (``prefix`` or ``kind@prefix``) names this fault window."""
    for entry in entries:
        kind, at, prefix = entry.rpartition("@")
        if window.target.startswith(prefix) and (not at or window.kind == kind):
            return True
    return False


@register
class TransientStateLimit:
    name = "transient-state-limit"

    @staticmethod
    def paused(judge: Judge, params: InvariantSpec, state: str, start: float, end: float) -> float:
        """Seconds of ``[start, end]`` under a fault window that stops ``state``'s clock (merged)."""
        entries = tuple(params.transient_paused_by.get(state) or ())
        if not entries:
            return 0.0
        return covered((w for w in judge.windows if stops_clock(w, entries)), start, end)

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        limits = params.transient_limits
        if not limits:
            return [judge.passed("no transient states declared; nothing to check")]
        end = history.end
        failures: list[Verdict] = []
        longest = 0.0
        intervals = state_intervals(history)
        for resource in sorted(intervals):
            for interval in intervals[resource]:
                limit = limits.get(interval.state)
                if limit is None:
                    continue
                paused = self.paused(judge, params, interval.state, interval.start,
                                     interval.end if interval.end is not None else end)
                duration = interval.duration(end) - paused
                longest = max(longest, duration)
                if duration <= limit:
                    continue
                still = " and still in it at the end" if interval.end is None else ""
                beside = f", not counting {paused:.1f} s of faults that stopped its clock" if paused else ""
                failures.append(
                    judge.failed(
                        f"{resource} {interval.state} for {duration:.1f} s{still} (limit {secs(limit)}{beside})",
                        resource,
                        interval.start,
                        interval.end if interval.end is not None else end,
                        duration,
                    )
                )
        states = ", ".join(f"{state} <= {secs(limit)}" for state, limit in sorted(limits.items()))
        if params.transient_paused_by:
            states += "; paused by " + ", ".join(
                f"{state}: {'/'.join(targets)}" for state, targets in sorted(params.transient_paused_by.items()))
        return judge.verdicts(
            failures,
            f"{len(intervals)} resources stayed within limits ({states}); longest {longest:.1f} s",
            longest,
        )
