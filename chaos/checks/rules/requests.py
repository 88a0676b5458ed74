"""Every request ends within its deadline, with success or a clear failure.

A client left hanging, or told "unknown" (a timeout with no idea whether the request took effect),
is the failure mode faults produce most often and users hate most; so ``unknown`` and "no answer at
all" are violations, while a prompt, explicit ``fail`` is a correct answer under faults.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict, secs
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import Op, operations
from chaos.core.history import History


def describe(op: Op) -> str:
    where = f" on {op.resource}" if op.resource else ""
    return f"{op.process} {op.f} #{op.id}{where}"


@register
class RequestDeadline:
    name = "request-deadline"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        deadline = params.request_deadline
        requests = [op for op in operations(history) if params.is_request(op.f)]
        failures: list[Verdict] = []
        for op in requests:
            problem = self.problem(op, deadline, history.end)
            if problem:
                end = op.end_t if op.end_t is not None else history.end
                failures.append(
                    judge.failed(
                        f"{describe(op)} {problem}",
                        op.resource,
                        op.invoke_t,
                        end,
                        op.latency,
                        when="invoked at",
                    )
                )
        limit = "" if deadline is None else f" within {secs(deadline)}"
        return judge.verdicts(
            failures, f"{len(requests)} requests all ended ok or with a clear failure{limit}"
        )

    @staticmethod
    def problem(op: Op, deadline: float | None, history_end: float) -> str | None:
        """What is wrong with one request, or None."""
        if op.outcome is None:
            return f"never ended (history ends {history_end - op.invoke_t:.1f} s after the invoke)"
        if op.outcome == "unknown":
            reason = f": {op.error}" if op.error else ""
            return f"ended unknown after {op.latency or 0.0:.1f} s{reason}"
        if deadline is not None and (op.latency or 0.0) > deadline:
            return f"ended {op.outcome} after {op.latency or 0.0:.1f} s (deadline {secs(deadline)})"
        return None
