"""No resource stays in a transient state longer than that state's limit.

Transient states (a reservation waiting for a start, a handshake in progress) are where a lost
message leaves a resource stuck; the limit is what the system promises for undoing them. A resource
still in the state when the history ends fails too once its limit has passed by then.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict, secs
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import state_intervals
from chaos.core.history import History


@register
class TransientStateLimit:
    name = "transient-state-limit"

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
                duration = interval.duration(end)
                longest = max(longest, duration)
                if duration <= limit:
                    continue
                still = " and still in it at the end" if interval.end is None else ""
                failures.append(
                    judge.failed(
                        f"{resource} {interval.state} for {duration:.1f} s{still} (limit {secs(limit)})",
                        resource,
                        interval.start,
                        interval.end if interval.end is not None else end,
                        duration,
                    )
                )
        states = ", ".join(f"{state} <= {secs(limit)}" for state, limit in sorted(limits.items()))
        return judge.verdicts(
            failures,
            f"{len(intervals)} resources stayed within limits ({states}); longest {longest:.1f} s",
            longest,
        )
