"""After the last heal, a fresh request succeeds within T.

Surviving a fault is not enough; the system has to come back by itself once the fault is gone,
without a restart by hand. Only requests invoked after the heal count: one that was stuck through
the fault and happened to finish later proves nothing about recovery. The time to recovery is
reported as the verdict's ``value`` whether the check passes or fails.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict, secs
from chaos.checks.measures import recovery
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.core.history import History


@register
class RecoveryAfterHeal:
    name = "recovery"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        found = recovery(history, params)
        if found.unhealed:
            names = ", ".join(f"'{name}'" for name in found.unhealed)
            return [judge.failed(f"fault(s) {names} never healed", None, history.end, when="at history end")]
        if found.heal_t is None:
            return [judge.passed("no fault was healed; nothing to recover from")]
        limit = params.recovery_within
        ttr = found.request_recovery
        cleared = (
            ""
            if found.state_recovery is None
            else f", transient states cleared after {found.state_recovery:.1f} s"
        )
        if ttr is not None and (limit is None or ttr <= limit):
            return [judge.passed(f"a fresh request succeeded {ttr:.1f} s after the last heal{cleared}", ttr)]
        if limit is None:
            return [judge.passed("no fresh request succeeded after the last heal (no recovery limit set)")]
        if found.fresh_requests == 0:
            text = "no fresh request was made after the last heal, so recovery is unproven"
        elif ttr is None:
            text = f"none of {found.fresh_requests} fresh requests succeeded (limit {secs(limit)})"
        else:
            text = f"the first fresh request succeeded only {ttr:.1f} s after the heal (limit {secs(limit)})"
        return [judge.failed(text, None, found.heal_t, value=ttr, when="after the heal at")]
