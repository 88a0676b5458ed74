"""Every finished session has exactly one ticket.

A session is finished when a ``session_end_event`` event, or an ok operation named in
``session_end_ops``, carries its id (``session_field``); its tickets are ``ticket_event`` events or
ok operations in ``ticket_ops`` carrying the same id. Retries under faults are what produce both
failures: none (the ticket was lost) and two (a redelivered end was billed twice). Two tickets are a
failure even for a session whose end was not seen, since the ticket itself may be what ends it.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import Marker, markers
from chaos.core.history import History


@register
class OneTicketPerSession:
    name = "one-ticket-per-session"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        key = params.session_field
        ends = self.by_session(markers(history, [params.session_end_event], params.session_end_ops), key)
        tickets = self.by_session(markers(history, [params.ticket_event], params.ticket_ops), key)
        failures: list[Verdict] = []
        for session in sorted(set(ends) | set(tickets)):
            found, end = tickets.get(session, []), ends.get(session)
            resource = self.resource(end or found)
            if end and not found:
                failures.append(
                    judge.failed(f"session {session} finished with no ticket", resource, end[0].t)
                )
            elif len(found) > 1:
                first = (end or found)[0].t
                failures.append(
                    judge.failed(f"session {session} has {len(found)} tickets", resource, first, found[-1].t)
                )
        return judge.verdicts(failures, f"{len(ends)} finished sessions, each with exactly one ticket")

    @staticmethod
    def by_session(found: list[Marker], key: str) -> dict[str, list[Marker]]:
        grouped: dict[str, list[Marker]] = {}
        for marker in found:
            session = marker.get(key)
            if session is not None:
                grouped.setdefault(str(session), []).append(marker)
        return grouped

    @staticmethod
    def resource(found: list[Marker]) -> str | None:
        for marker in found:
            if marker.get("resource") is not None:
                return str(marker.get("resource"))
        return None
