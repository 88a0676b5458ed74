"""No acknowledged message is lost: whatever a component sent and Kafka acknowledged takes effect.

kafkatest's "acked is a subset of consumed", applied to effects rather than to reads: a message in
a topic's log (a fact, see ``chaos.core.facts``) was acknowledged, so its consumer must show it
took effect, or answer it, within ``reflection_within`` seconds without faults: time under a fault
window does not count, since a message cannot take effect while its path is down however long the
fault holds it (a broker SIGKILLed in a session with many topics took 28 s to recover its logs, and a
completion sent a moment before the kill was reflected 36 s after it, 5 s of them without faults).

One the history ends without is lost only once its bound has passed, or, with
``reflection_settle``, once that many seconds have passed both since it was sent and since the last
fault window ended: a network at rest answers in moments, and a run rarely lasts the whole bound
after its last message. Why: a request Central never answered (its reply lost in a crash) was sent
25 s before the end, under the 30 s bound, and passed as "not reflected yet". ``reflections`` says, per event
type, which field is its key and which events reflect it (``{"start_sent": {"key": "reservation",
"by": ["acquired", "start_denied"]}}``). A reflection may come before its message (an effect
already caused another way, e.g. a session closed before the late completion arrived); one missing
only counts once the bound has passed by the end of the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaos.checks.base import Judge, Verdict, secs
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import covered, markers, missing_evidence
from chaos.core.history import History


@register
class NoLostAcknowledged:
    name = "no-lost-acknowledged"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        if not params.reflections:
            return [judge.passed("no acknowledged messages to follow; nothing to check")]
        missing = missing_evidence(history, "facts")
        if missing:
            return [judge.failed(f"the acknowledged messages could not be read ({missing})", None, history.end,
                                 when="at")]
        bound = params.reflection_within
        healed = max((w.end for w in judge.windows if w.end is not None), default=None)
        failures: list[Verdict] = []
        followed = young = 0
        for event, rule in sorted(params.reflections.items()):
            key, by = self.rule(event, rule)
            reflected: dict[str, float] = {}
            for marker in markers(history, by, ()):
                value = marker.get(key)
                if value is not None:
                    reflected[str(value)] = min(marker.t, reflected.get(str(value), marker.t))
            for marker in markers(history, [event], ()):
                value = marker.get(key)
                if value is None:
                    continue
                seen = reflected.get(str(value))
                faulted = covered(judge.windows, marker.t, seen if seen is not None else history.end)
                late = seen is not None and bound is not None and seen - marker.t - faulted > bound
                if seen is None and self.young(marker.t, history.end, bound, params.reflection_settle, healed,
                                               faulted):
                    young += 1
                    continue  # its bound has not passed yet
                followed += 1
                if seen is None or late:
                    resource = marker.get("resource")
                    if seen is not None:
                        beside = f", {seen - marker.t - faulted:.1f} s of them without faults" if faulted else ""
                        what = f"reflected only {seen - marker.t:.1f} s later{beside}"
                    else:
                        what = f"never reflected by {' or '.join(by)}"
                    if seen is None and bound is not None and history.end - marker.t <= bound:
                        quiet = history.end - max(marker.t, healed if healed is not None else marker.t)
                        what += (f" in the {history.end - marker.t:.1f} s to the end,"
                                 f" {quiet:.1f} s of them without faults")
                    limit = "" if bound is None else f" (bound {secs(bound)})"
                    failures.append(judge.failed(
                        f"acknowledged {event} {key}={value} {what}{limit}",
                        None if resource is None else str(resource), marker.t, when="sent at"))
        pending = f"; {young} more not reflected yet, within their bound at the end" if young else ""
        return judge.verdicts(failures, f"{followed} acknowledged messages, each reflected"
                                        + ("" if bound is None else f" within {secs(bound)}") + pending)

    @staticmethod
    def young(sent: float, end: float, bound: float | None, settle: float | None, healed: float | None,
              faulted: float = 0.0) -> bool:
        """Whether a message the history ends without may still be reflected (see the module doc);
        ``faulted``: seconds since it was sent that a fault window covered (they do not count)."""
        if bound is None or end - sent - faulted > bound:
            return False
        return settle is None or end - max(sent, healed if healed is not None else sent) < settle

    @staticmethod
    def rule(event: str, rule: Mapping[str, Any]) -> tuple[str, list[str]]:
        key, by = rule.get("key"), rule.get("by")
        if not isinstance(key, str) or not isinstance(by, list | tuple) or not by:
            raise ValueError(f"reflections[{event!r}] needs a 'key' field name and a non-empty 'by' list, got {rule!r}")
        return key, [str(name) for name in by]
