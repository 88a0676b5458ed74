"""Agreement at the end: once every fault is healed and the system is quiet, every party agrees on
every resource: who holds it, or that nobody does.

A resource can be left half-done in a way no single party's record shows: a client still charging
at a point its coordinator closed, a point still supplying a session nobody else has. So the suite
asks each party at the end (its database, its device, its clients) and records one ``view_event``:
``{"views": {party: {resource: holder-or-null}}}``, each party naming only what it knows of (a
point's own device knows only that point). Every party that names a resource must say the same.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.core.history import History


@register
class AgreementAtEnd:
    name = "agreement-at-end"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        taken = [e for e in history.events if e["type"] == params.view_event]
        if not taken:
            return [judge.passed("no party's view was taken at the end; nothing to compare")]
        last = taken[-1]
        views: dict[str, dict[str, object]] = last.get("views") or {}
        errors = last.get("errors") or {}
        failures: list[Verdict] = []
        if errors:
            failures.append(judge.failed(
                "could not ask " + "; ".join(f"{party}: {error}" for party, error in sorted(errors.items())),
                None, last["t"], when="at"))
        resources = sorted({resource for view in views.values() for resource in view})
        for resource in resources:
            said = {party: view[resource] for party, view in sorted(views.items()) if resource in view}
            if len({str(holder) for holder in said.values()}) > 1:
                listed = ", ".join(f"{party} says {holder or 'nobody'}" for party, holder in said.items())
                failures.append(judge.failed(f"{resource}: the parties disagree ({listed})", resource,
                                             last["t"], when="at"))
        return judge.verdicts(failures, f"{len(views)} parties agree on {len(resources)} resources at the end")
