"""Every consumer group of the run has read and committed everything on its topics by the end.

A consumer can be alive by its pid and still deaf: its receiving thread died, it stalls on one
record, it lost its assignment. Its committed position then stops while its topics grow. The
evidence is read at the end of the run (each group's lag on the spec's consumed topics, once every
group had the chance to catch up), so this judges what the consumers did, not what they claim.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import missing_evidence
from chaos.core.history import History


@register
class ConsumersKeepUp:
    name = "consumers-keep-up"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        missing = missing_evidence(history, "consumers")
        if missing is not None:
            return [judge.failed(f"the consumer positions could not be read ({missing})", None, history.end, when="at")]
        snapshots = [e for e in history.events if e["type"] == "consumers"]
        if not snapshots:
            return [judge.passed("no consumer positions were recorded")]
        last = snapshots[-1]
        failures = [
            judge.failed(
                f"consumer group {group} never read {sum(parts.values())} record(s) of "
                + ", ".join(f"{where} ({count})" for where, count in sorted(parts.items())),
                group, last["t"], when="at",
            )
            for group, parts in sorted(last["groups"].items()) if parts
        ]
        return judge.verdicts(failures, f"all {len(last['groups'])} consumer groups read their topics to the end")
