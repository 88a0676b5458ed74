"""A record the system must not act on changes no resource's state.

While a message fault's records are being read (its window lasts until every consumer has moved
past them), no resource may change state: a rejected record must be rejected, a duplicate or a
replay recognised. Suites inject while the system is otherwise idle, so any change in the window
is the system believing what it was sent.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import fault_windows
from chaos.core.history import History


@register
class NothingBelieved:
    name = "nothing-believed"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        windows = [w for w in fault_windows(history) if w.injected]
        if not windows:
            return [judge.passed("no records were injected")]
        failures: list[Verdict] = []
        events = [e for e in history.events if e["type"] == "state"]
        for window in windows:
            end = window.end if window.end is not None else history.end
            before: dict[str, str] = {}  # each resource's state as the window opened
            for event in events:
                if event["t"] <= window.start:
                    before.update(event["states"])
            for event in events:
                if not window.start < event["t"] <= end:
                    continue
                for resource, state in sorted(event["states"].items()):
                    was = before.get(resource)
                    if was is not None and state != was:
                        failures.append(judge.failed(
                            f"{resource} went {was} -> {state} while the system read '{window.name}'",
                            resource, event["t"], when="at",
                        ))
                        before[resource] = state
        return judge.verdicts(failures, f"no state changed while {len(windows)} injections were read")
