"""Every forged record the system refused is in its audit log, where it was read.

A refusal nobody can look at later is an attack nobody can answer: who tried, what, from where.
The forged records come from ``inject-forged`` (their evidence: topic, partition, offset, what each
pretended); the audit entries from the system's audit logs (``SystemSpec.audit``), read at the end.
An entry names the record by where it was read (``topic:partition:offset``) and must say refused.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import injected_records, missing_evidence
from chaos.core.history import REFUSED, History


@register
class ForgeriesAudited:
    name = "forgeries-audited"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        refused = {str(e.get("where")) for e in history.events
                   if e["type"] == "audit" and e.get("outcome") == "refused"}
        records = injected_records(history, {REFUSED})
        failures = [
            judge.failed(f"{where} ({record.get('note') or window.kind}) is refused in no audit log",
                         record["topic"], window.start, window.end, when="written at")
            for window, record in records
            if (where := f"{record['topic']}:{record['partition']}:{record['offset']}") not in refused
        ]
        expected = len(records)
        if not expected:
            return [judge.passed("no forged record was written")]
        missing = missing_evidence(history, "audit")
        if missing is not None:
            return [judge.failed(f"the audit logs could not be read ({missing})", None, history.end, when="at")]
        return judge.verdicts(failures, f"all {expected} forged records were refused in an audit log")
