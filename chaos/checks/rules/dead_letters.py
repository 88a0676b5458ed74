"""Every record the system had to reject is accounted for by a dead-letter record naming it.

A rejected record that leaves no trace is lost input nobody can look at again: a consumer that
skips it silently, or dies on it, looks the same from outside. The records come from message
faults (their evidence: topic, partition, offset, what was wrong); the dead letters from the
system's dead-letter topic, read at the end of the run (``SystemSpec.dead_letters``).
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import injected_records, missing_evidence
from chaos.core.history import DEAD_LETTERED, History


@register
class RejectedRecordsDeadLettered:
    name = "rejected-records-dead-lettered"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        letters = {
            (e.get("topic"), e.get("partition"), e.get("offset")) for e in history.events if e["type"] == "dead_letter"
        }
        records = injected_records(history, DEAD_LETTERED)
        failures = [
            judge.failed(
                f"{record['topic']}[{record['partition']}]@{record['offset']} ({record.get('note') or window.kind}) "
                "was rejected by no dead-letter record", record["topic"], window.start, window.end, when="written at",
            )
            for window, record in records if (record["topic"], record["partition"], record["offset"]) not in letters
        ]
        expected = len(records)
        if not expected:
            return [judge.passed("no record had to be rejected")]
        missing = missing_evidence(history, "dead_letter")
        if missing is not None:
            return [judge.failed(f"the dead-letter topic could not be read ({missing})", None, history.end, when="at")]
        return judge.verdicts(failures, f"all {expected} injected records that had to be rejected were dead-lettered")
