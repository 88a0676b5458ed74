"""What Central's handlers and sweeps share: its config, the replies they collect, and the effects
that end a CP's reservation or session (a release notice, a stop order and a ticket).

Split from ``handlers`` by job: ``handlers`` decides what each message (or sweep) means; this module
carries out the consequences every path must carry out the same way, so a session ended by a fault,
an operator's stop, a silent monitor or a telemetry timeout always ends with the same messages in the
same order: ``StopSupply`` to the engine, then the ``Ticket`` to the driver.

The two are separated by the engine's answer. Central's last telemetry reading lags the meter by up
to a telemetry period, and the engine supplies until the stop reaches it, so a ticket issued with the
stop left that energy unbilled (and all of it if the engine never heard the stop). So ``_end_session``
only sends the stop and marks the session ``stopping``; the engine's ``charging_completed`` (its
final reading) closes it and issues the ticket, with Central's reason, or, if that reading never
comes, the sweep does after ``stop_grace`` with the last reading Central has. A session the engine
completes by itself (``charging_completed`` of an active session) is billed at once, with no stop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from evcharge.central.ids import fast_id
from evcharge.central.store import Reservation, Session, Store
from evcharge.messages import Message, ReservationReleased, StopSupply, Strict, Ticket, Topics, make
from evcharge.pricing import DEFAULT_PRICE_EUR_KWH, cost_eur
from evcharge.states import BUSY, CpEvent, CpState

log = logging.getLogger("evcharge.central")

TELEMETRY_TIMEOUT = 30.0
"""Default seconds without telemetry before Central stops a session: engines send it every 0.25-1 s,
so in normal use this never fires; it bounds a session whose engine went silent while its monitor
still reports it healthy (a silent monitor disconnects the CP after ``heartbeat_timeout`` already)."""

STOP_GRACE = 5.0
"""Default seconds Central waits for the final reading of a session it stopped before it bills the
last reading it has. A ``StopSupply`` reaches a live engine and its completion comes back in
milliseconds (two Kafka hops), so 5 s is ample even across a short broker stall; but a partitioned or
dead engine's reading may never arrive, and the driver must get a ticket anyway. The wait is short
against the driver's own patience (``--charging-silence``, 60 s) and keeps the CP from being offered
to anyone for only that long. Judged on the heard-up-to clock, like the other silences (see
``Handlers.sweep``), so Central's own deafness never cuts it short."""

STOPPED_BY_CENTRAL = "stopped_by_central"
"""The ticket reason of a stopped session with no stop reason recorded (none is: ``request_stop``
writes both columns at once; this only keeps the type a ``str``)."""

CP_LIST_LIMIT = 1000
"""CPs in one ``cp_list`` reply: about 100 bytes each at most (a 64-character id), so ~100 kB, a
tenth of the producer's 1 MiB ``max_request_size`` however many CPs have registered."""


@dataclass(frozen=True)
class CentralConfig:
    price_eur_kwh: float = DEFAULT_PRICE_EUR_KWH
    reservation_ttl: float = 10.0
    heartbeat_timeout: float = 5.0
    source: str = "central"
    telemetry_timeout: float = TELEMETRY_TIMEOUT
    cp_list_limit: int = CP_LIST_LIMIT
    registered_cps: frozenset[str] | None = None
    """The CPs allowed to register by heartbeat; ``None``: any CP that beats (an open network). With
    a list, a heartbeat for any other CP is dead-lettered and registers nothing (a fake CP would
    otherwise win "any CP" requests)."""
    stop_grace: float = STOP_GRACE
    """Seconds a session Central stopped waits for the engine's final reading (see ``STOP_GRACE``)."""


@dataclass(frozen=True)
class Outgoing:
    """A message to send once the transaction commits; ``topic`` is without the prefix."""

    topic: str
    key: str | None
    message: Message


class Rejected(Exception):
    """Bad input: no state change, a dead letter with this reason."""


class Effects:
    """Collects the replies of one message (or sweep) and applies the effects shared by handlers."""

    def __init__(self, store: Store, config: CentralConfig) -> None:
        self.store = store
        self.config = config
        self._out: list[Outgoing] = []
        self._cause: Message | None = None

    def _collect(self, cause: Message | None, action: Callable[[], None]) -> list[Outgoing]:
        self._out, self._cause = [], cause
        try:
            action()
            return self._out
        finally:
            self._out, self._cause = [], None

    def _send(self, topic: str, key: str, body: Strict) -> None:
        cause = self._cause
        message = make(
            body,
            self.config.source,
            correlation_id=cause.envelope.correlation_id if cause else None,
            causation_id=cause.message_id if cause else None,
            message_id=fast_id(),
        )
        self._out.append(Outgoing(topic, key, message))

    def _to_driver(self, body: Strict) -> None:
        """Everything for a driver goes to that driver's own topic (``Topics.driver_events``)."""
        driver_id: str = body.driver_id  # type: ignore[attr-defined]
        self._send(Topics.driver_events(driver_id), driver_id, body)

    def _apply(self, cp_id: str, event: CpEvent, reason: str, now: float) -> None:
        """Transition ``cp_id``; if it leaves reserved/charging, end what it held with ``reason``."""
        before, after = self.store.transition(cp_id, event, now)
        if before != after:
            log.info("CP state changed", extra={"cp_id": cp_id, "event": event.value, "from": before, "to": after})
        if before in BUSY and after not in BUSY:
            reservation = self.store.active_reservation_for_cp(cp_id)
            if reservation is not None:
                self._release(reservation, reason, now, transition=False)
            session = self.store.active_session_for_cp(cp_id)
            if session is not None:
                self._end_session(session, reason, now)

    def _release(self, r: Reservation, reason: str, now: float, transition: bool = True) -> None:
        log.info(
            "reservation released",
            extra={"cp_id": r.cp_id, "driver_id": r.driver_id, "reservation_id": r.reservation_id, "reason": reason},
        )
        self.store.set_reservation_status(r.reservation_id, "released", now)
        cp = self.store.cp(r.cp_id)
        if transition and cp is not None and cp.state == CpState.RESERVED:
            self.store.transition(r.cp_id, CpEvent.RELEASE, now)
        self._to_driver(
            ReservationReleased(driver_id=r.driver_id, reservation_id=r.reservation_id, cp_id=r.cp_id, reason=reason),
        )

    def _end_session(self, s: Session, reason: str, now: float) -> None:
        """Central ends a session the engine did not: tell the engine to stop, and wait (``stopping``)
        for its final reading before billing. No ticket yet: ``s.kwh`` is the last telemetry Central
        consumed, short of what the engine supplies until the stop reaches it."""
        self._send(Topics.CP_COMMANDS, s.cp_id, StopSupply(cp_id=s.cp_id, session_id=s.session_id, reason=reason))
        log.info(
            "session stopping: waiting for the engine's final reading",
            extra={"cp_id": s.cp_id, "driver_id": s.driver_id, "session_id": s.session_id, "reason": reason},
        )
        self.store.request_stop(s.session_id, reason, now)

    def _close_stopped(self, s: Session, kwh: float, duration: float, now: float) -> None:
        """Close a session Central stopped, with Central's reason: the cause the driver should see
        (``cp_disconnected``), not the engine's echo of it (``stopped_by_cp_disconnected``)."""
        self._close_session(s, kwh, duration, s.stop_reason or STOPPED_BY_CENTRAL, now)

    def _amend(self, s: Session, kwh: float) -> None:
        """Bill a final reading that came after the session was billed without it (the stop grace ran
        out while the engine was away, then a restarted engine sent what its meter kept): the same
        ticket, its kWh and price raised to the reading, sent to the driver again. Readings only grow,
        so a reading at or below what was billed (a duplicate) changes nothing."""
        ticket = self.store.ticket_of(s.session_id)
        if ticket is None or kwh <= ticket.kwh:
            return
        price = cost_eur(kwh, s.price_eur_kwh)
        log.warning("final reading after the session was billed: ticket amended",
                    extra={"cp_id": s.cp_id, "session_id": s.session_id, "kwh": kwh, "billed": ticket.kwh,
                           "price_eur": price})
        self.store.amend_ticket(ticket.ticket_id, s.session_id, kwh, price)
        self._to_driver(Ticket(ticket_id=ticket.ticket_id, session_id=s.session_id, driver_id=s.driver_id,
                               cp_id=s.cp_id, kwh=kwh, price_eur=price, duration_s=ticket.duration_s,
                               reason=ticket.reason))

    def _close_session(self, s: Session, kwh: float, duration: float, reason: str, now: float) -> None:
        ticket_id = fast_id()
        price = cost_eur(kwh, s.price_eur_kwh)
        log.info(
            "session closed, ticket issued",
            extra={
                "cp_id": s.cp_id,
                "driver_id": s.driver_id,
                "session_id": s.session_id,
                "kwh": kwh,
                "price_eur": price,
                "reason": reason,
            },
        )
        self.store.close_session(s.session_id, now, kwh)
        self.store.add_ticket(ticket_id, s, kwh, price, duration, reason, now)
        self._to_driver(
            Ticket(
                ticket_id=ticket_id,
                session_id=s.session_id,
                driver_id=s.driver_id,
                cp_id=s.cp_id,
                kwh=kwh,
                price_eur=price,
                duration_s=duration,
                reason=reason,
            ),
        )
