"""Exactly-once effects: every finished session has one ticket, in every place a ticket is kept.

A session is finished when a ``session_end_event`` event, or an ok operation named in
``session_end_ops``, carries its id (``session_field``). Its tickets are judged in each place apart:

- the clients' side: ``ticket_event`` events or ok operations in ``ticket_ops`` (what a client was
  handed);
- each of ``effect_events``: the system's own records of the effect (its tickets table, the ticket
  messages it sent), told apart by ``effect_id_field``: the same ticket read twice is one ticket,
  two ticket ids for one session are two bills.

Retries under faults are what produce both failures: none (the ticket was lost) and two (a
redelivered end billed twice). Two are a failure even for a session whose end was not seen, since
the ticket itself may be what ends it.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import Marker, markers, missing_evidence
from chaos.core.history import History


@register
class ExactlyOnce:
    name = "exactly-once"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        key = params.session_field
        ends = self.by_session(markers(history, [params.session_end_event], params.session_end_ops), key)
        places = {"the clients": markers(history, [params.ticket_event], params.ticket_ops)}
        unread = missing_evidence(history, "facts")
        for event in sorted(params.effect_events):
            places[event] = markers(history, [event], ())
        failures: list[Verdict] = []
        for place, found in places.items():
            tickets = self.by_session(found, key)
            for session in sorted(set(ends) | set(tickets)):
                mine, end = tickets.get(session, []), ends.get(session)
                resource = self.resource(end or mine)
                distinct = self.distinct(mine, params.effect_id_field)
                if end and not mine and not (unread and place != "the clients"):
                    failures.append(judge.failed(
                        f"session {session} finished with no ticket in {place}", resource, end[0].t))
                elif distinct > 1:
                    first = (end or mine)[0].t
                    failures.append(judge.failed(
                        f"session {session} has {distinct} tickets in {place}", resource, first, mine[-1].t))
        where = ", ".join(places)
        return judge.verdicts(failures, f"{len(ends)} finished sessions, each with exactly one ticket in {where}")

    @staticmethod
    def by_session(found: list[Marker], key: str) -> dict[str, list[Marker]]:
        grouped: dict[str, list[Marker]] = {}
        for marker in found:
            session = marker.get(key)
            if session is not None:
                grouped.setdefault(str(session), []).append(marker)
        return grouped

    @staticmethod
    def distinct(found: list[Marker], id_field: str) -> int:
        """How many different tickets: by id where they carry one, else each counts."""
        ids = {str(m.get(id_field)) for m in found if m.get(id_field) is not None}
        return len(ids) + sum(1 for m in found if m.get(id_field) is None)

    @staticmethod
    def resource(found: list[Marker]) -> str | None:
        for marker in found:
            if marker.get("resource") is not None:
                return str(marker.get("resource"))
        return None
