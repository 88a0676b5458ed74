"""Every service of the system is still running when the run is judged.

No fault in a suite is meant to leave a process dead: a process fault's heal starts it again. So a
service found dead at the end crashed on its own (a record it could not take, a loop that gave
up), and nothing else would say so once the harness kills everything at teardown.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.core.history import History


@register
class ServicesAlive:
    name = "services-alive"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        snapshots = [e for e in history.events if e["type"] == "services"]
        if not snapshots:
            return [judge.passed("no services were recorded")]
        last = snapshots[-1]
        dead = {name: state for name, state in sorted(last["services"].items()) if not state.get("running")}
        failures = [
            judge.failed(f"{name} is not running at the end (exit code {state.get('exit')})", name, last["t"],
                         when="at")
            for name, state in dead.items()
        ]
        return judge.verdicts(failures, f"all {len(last['services'])} services running at the end")
