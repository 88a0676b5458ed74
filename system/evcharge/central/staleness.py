"""Stale health reports: a KO older than the CP's current grant is news Central no longer acts on.

Why: after a broker pause a monitor's heartbeats reach Central seconds late, in order. A KO from a
0.1 s blip of the engine (ended before it could be delivered, and followed by an OK) was applied
after Central had reserved the CP for a fresh request, and released that reservation: the driver
was denied ``cp_faulty`` by a CP that was fine (the broker-pause scenario failed 1 run in 5). An
engine still failing says so again in its next heartbeat, one period later, and that one releases
the grant. The sent time is the monitor's clock and the grant's Central's: a monitor clock behind
Central's by S only delays a real KO by S (at most the reservation TTL); one ahead changes nothing.
"""

from __future__ import annotations

from evcharge.central.store import Store


def granted_after(store: Store, cp_id: str, sent: float) -> str | None:
    """Which grant of ``cp_id`` (its reservation or session) Central made after ``sent``, if any."""
    reservation = store.active_reservation_for_cp(cp_id)
    if reservation is not None and sent < reservation.created_at:
        return "reservation"
    session = store.active_session_for_cp(cp_id)
    if session is not None and sent < session.started_at:
        return "session"
    return None
