"""What each message does to Central's store, and which messages Central sends in answer.

Handlers never touch Kafka: they read and write the ``Store`` (inside the caller's transaction) and
return ``Outgoing`` messages, so they are tested with an in-memory database and no broker. Input
that must not change state (forged, inconsistent, addressed to the wrong CP) raises ``Rejected``;
the processor rolls the message's savepoint back and writes a dead letter.

Two kinds of "no": a *denial* is a normal answer to a well-formed request (no CP free, CP faulty,
driver already charging) and goes back to the driver; a *rejection* is bad input and goes to the
dead-letter topic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from evcharge.central.ids import fast_id
from evcharge.central.store import Reservation, Session, Store
from evcharge.messages import (
    AuthorizationRequest,
    AuthorizationResponse,
    ChargingCompleted,
    ChargingStarted,
    CommandResult,
    CpCommand,
    CpInfo,
    CpList,
    CpListRequest,
    Heartbeat,
    Message,
    ReservationReleased,
    SessionDenied,
    SessionStarted,
    StartSupply,
    StopRequest,
    StopSupply,
    Strict,
    Telemetry,
    Ticket,
    Topics,
    make,
)
from evcharge.pricing import DEFAULT_PRICE_EUR_KWH, cost_eur
from evcharge.states import BUSY, UNAVAILABLE_REASON, CpEvent, CpState, InvalidTransition

log = logging.getLogger("evcharge.central")


@dataclass(frozen=True)
class CentralConfig:
    price_eur_kwh: float = DEFAULT_PRICE_EUR_KWH
    reservation_ttl: float = 10.0
    heartbeat_timeout: float = 5.0
    source: str = "central"


@dataclass(frozen=True)
class Outgoing:
    """A message to send once the transaction commits; ``topic`` is without the prefix."""

    topic: str
    key: str | None
    message: Message


class Rejected(Exception):
    """Bad input: no state change, a dead letter with this reason."""


class Handlers:
    """One method per message type Central accepts; see ``handle``."""

    def __init__(self, store: Store, config: CentralConfig) -> None:
        self.store = store
        self.config = config
        self._out: list[Outgoing] = []
        self._cause: Message | None = None
        self._table: dict[str, Callable[[Strict, float], None]] = {
            "authorization_request": self.on_authorization_request,  # type: ignore[dict-item]
            "charging_started": self.on_charging_started,  # type: ignore[dict-item]
            "stop_request": self.on_stop_request,  # type: ignore[dict-item]
            "cp_list_request": self.on_cp_list_request,  # type: ignore[dict-item]
            "telemetry": self.on_telemetry,  # type: ignore[dict-item]
            "charging_completed": self.on_charging_completed,  # type: ignore[dict-item]
            "heartbeat": self.on_heartbeat,  # type: ignore[dict-item]
            "cp_command": self.on_cp_command,  # type: ignore[dict-item]
        }

    @property
    def accepted_types(self) -> list[str]:
        return sorted(self._table)

    def handle(self, message: Message, now: float) -> list[Outgoing]:
        """Apply ``message``; returns what to send. Raises Rejected for input that must be refused."""
        handler = self._table.get(message.type)
        if handler is None:
            raise Rejected(f"Central does not accept {message.type!r} messages")
        return self._collect(message, lambda: handler(message.body, now))

    def sweep(self, now: float, heard_up_to: float | None) -> list[Outgoing]:
        """Periodic duties: release expired reservations; mark CPs whose monitor went silent.

        Silence is measured at ``heard_up_to`` (see ``central/hearing.py``), not at ``now``: a CP is
        disconnected only if no heartbeat of its monitor was consumed in the ``heartbeat_timeout``
        before the point up to which Central is known to have heard everything. None: not known
        yet, so no CP is judged.
        """

        def run() -> None:
            for reservation in self.store.expired_reservations(now):
                self._release(reservation, "reservation_expired", now)
            if heard_up_to is not None:
                for cp_id in self.store.stale_cps(heard_up_to - self.config.heartbeat_timeout):
                    self._apply(cp_id, CpEvent.MONITOR_LOST, "cp_disconnected", now)

        return self._collect(None, run)

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
        """Everything for a driver goes to one topic, keyed by its id (so its consumer filters)."""
        self._send(Topics.DRIVER_EVENTS, body.driver_id, body)  # type: ignore[attr-defined]

    # -- drivers ---------------------------------------------------------------------------------
    def on_authorization_request(self, req: AuthorizationRequest, now: float) -> None:
        self.store.touch_driver(req.driver_id, now)
        cp_id, reason = self._choose_cp(req)
        if cp_id is None:
            log.info("authorization denied", extra={"reason": reason})
            self._to_driver(
                AuthorizationResponse(
                    request_id=req.request_id, driver_id=req.driver_id, authorized=False, reason=reason
                ),
            )
            return
        self.store.transition(cp_id, CpEvent.RESERVE, now)
        log.info("authorized: CP reserved", extra={"cp_id": cp_id, "ttl_s": self.config.reservation_ttl})
        reservation = Reservation(
            fast_id(),
            req.request_id,
            req.driver_id,
            cp_id,
            req.duration_s,
            now,
            now + self.config.reservation_ttl,
            "active",
        )
        self.store.add_reservation(reservation)
        self._to_driver(
            AuthorizationResponse(
                request_id=req.request_id,
                driver_id=req.driver_id,
                authorized=True,
                cp_id=cp_id,
                reservation_id=reservation.reservation_id,
                expires_at=reservation.expires_at,
            ),
        )

    def _choose_cp(self, req: AuthorizationRequest) -> tuple[str | None, str | None]:
        """(the CP to reserve, None), or (None, why the request is denied)."""
        if self.store.driver_busy(req.driver_id):
            return None, "driver_already_charging"
        if req.cp_id is None:
            cp_id = self.store.first_available_cp()
            return (cp_id, None) if cp_id else (None, "no_cp_available")
        cp = self.store.cp(req.cp_id)
        reason = "unknown_cp" if cp is None else UNAVAILABLE_REASON.get(cp.state)
        return (None, reason) if reason else (req.cp_id, None)

    def on_charging_started(self, msg: ChargingStarted, now: float) -> None:
        reservation = self._own_reservation(msg.reservation_id, msg.driver_id, msg.cp_id)
        existing = self.store.session_for_reservation(reservation.reservation_id)
        if existing is not None:  # a retry of an accepted start: say it again, change nothing
            self._send_session_started(existing)
            return
        if reservation.status != "active":
            self._to_driver(
                SessionDenied(
                    driver_id=msg.driver_id,
                    reservation_id=msg.reservation_id,
                    reason="reservation_" + ("expired" if reservation.expires_at <= now else "released"),
                ),
            )
            return
        self.store.transition(msg.cp_id, CpEvent.START, now)
        self.store.set_reservation_status(reservation.reservation_id, "used")
        session = Session(
            fast_id(),
            reservation.reservation_id,
            msg.driver_id,
            msg.cp_id,
            self.config.price_eur_kwh,
            now,
            0.0,
            "active",
        )
        self.store.add_session(session)
        log.info("session started", extra={"session_id": session.session_id})
        self._send_session_started(session)
        self._send(
            Topics.CP_COMMANDS,
            msg.cp_id,
            StartSupply(
                cp_id=msg.cp_id,
                session_id=session.session_id,
                driver_id=msg.driver_id,
                price_eur_kwh=session.price_eur_kwh,
                duration_s=reservation.duration_s,
            ),
        )

    def _own_reservation(self, reservation_id: str, driver_id: str, cp_id: str | None) -> Reservation:
        reservation = self.store.reservation(reservation_id)
        if reservation is None:
            raise Rejected(f"unknown reservation {reservation_id!r}")
        if reservation.driver_id != driver_id:
            raise Rejected(f"reservation {reservation_id!r} belongs to another driver")
        if cp_id is not None and reservation.cp_id != cp_id:
            raise Rejected(f"reservation {reservation_id!r} is for {reservation.cp_id}, not {cp_id}")
        return reservation

    def _send_session_started(self, s: Session) -> None:
        self._to_driver(
            SessionStarted(
                driver_id=s.driver_id, session_id=s.session_id, reservation_id=s.reservation_id, cp_id=s.cp_id
            ),
        )

    def on_stop_request(self, msg: StopRequest, now: float) -> None:
        if msg.session_id:
            session = self.store.session(msg.session_id)
            if session is None or session.driver_id != msg.driver_id:
                raise Rejected(f"session {msg.session_id!r} is not a session of {msg.driver_id}")
            if session.status == "active":
                self._send(
                    Topics.CP_COMMANDS,
                    session.cp_id,
                    StopSupply(cp_id=session.cp_id, session_id=session.session_id, reason="driver_stop"),
                )
        elif msg.reservation_id:
            reservation = self._own_reservation(msg.reservation_id, msg.driver_id, None)
            if reservation.status == "active":
                self._release(reservation, "cancelled_by_driver", now)
        else:
            raise Rejected("stop_request names neither a session nor a reservation")

    def on_cp_list_request(self, msg: CpListRequest, now: float) -> None:
        cps = [CpInfo(cp_id=cp.cp_id, state=cp.state.value) for cp in self.store.cps()]
        self._to_driver(
            CpList(request_id=msg.request_id, driver_id=msg.driver_id, cps=cps),
        )

    # -- charging points -------------------------------------------------------------------------
    def _session_of_cp(self, cp_id: str, session_id: str) -> Session:
        if self.store.cp(cp_id) is None:
            raise Rejected(f"unknown CP {cp_id!r}")
        session = self.store.session(session_id)
        if session is None or session.cp_id != cp_id:
            raise Rejected(f"session {session_id!r} is not a session of {cp_id}")
        return session

    def on_telemetry(self, msg: Telemetry, now: float) -> None:
        session = self._session_of_cp(msg.cp_id, msg.session_id)
        if session.status != "active":
            return  # late telemetry of a closed session: harmless, nothing to relay
        self.store.update_session_energy(session.session_id, msg.kwh)
        relay = msg.model_copy(update={"driver_id": session.driver_id})
        self._to_driver(relay)

    def on_charging_completed(self, msg: ChargingCompleted, now: float) -> None:
        session = self._session_of_cp(msg.cp_id, msg.session_id)
        if session.status != "active":
            return  # duplicate completion: the ticket exists already
        self._close_session(session, msg.kwh, msg.duration_s, msg.reason, now)
        cp = self.store.cp(msg.cp_id)
        if cp is not None and cp.state == CpState.CHARGING:
            self.store.transition(msg.cp_id, CpEvent.FINISH, now)

    def on_heartbeat(self, msg: Heartbeat, now: float) -> None:
        cp = self.store.cp(msg.cp_id)
        if cp is None:
            state = CpState.AVAILABLE if msg.engine_ok else CpState.FAULT
            self.store.register_cp(msg.cp_id, state, msg.engine_ok, now)
            return
        self.store.record_heartbeat(msg.cp_id, msg.engine_ok, now)
        event = CpEvent.ENGINE_OK if msg.engine_ok else CpEvent.ENGINE_KO
        self._apply(msg.cp_id, event, "cp_faulty", now)

    # -- operator --------------------------------------------------------------------------------
    def on_cp_command(self, msg: CpCommand, now: float) -> None:
        targets = [msg.cp_id] if msg.cp_id else [cp.cp_id for cp in self.store.cps()]
        if msg.cp_id and self.store.cp(msg.cp_id) is None:
            raise Rejected(f"unknown CP {msg.cp_id!r}")
        event = CpEvent.STOP if msg.action == "stop" else CpEvent.RESUME
        done, failed = [], {}
        for cp_id in targets:
            try:
                self._apply(cp_id, event, "cp_stopped", now)
                done.append(cp_id)
            except InvalidTransition as exc:
                failed[cp_id] = str(exc)
        self._send(Topics.COMMAND_RESULTS, "central", CommandResult(action=msg.action, cp_ids=done, failed=failed))

    # -- shared effects --------------------------------------------------------------------------
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
                self._send(
                    Topics.CP_COMMANDS,
                    cp_id,
                    StopSupply(cp_id=cp_id, session_id=session.session_id, reason=reason),
                )
                self._close_session(session, session.kwh, now - session.started_at, reason, now)

    def _release(self, r: Reservation, reason: str, now: float, transition: bool = True) -> None:
        log.info(
            "reservation released",
            extra={"cp_id": r.cp_id, "driver_id": r.driver_id, "reservation_id": r.reservation_id, "reason": reason},
        )
        self.store.set_reservation_status(r.reservation_id, "released")
        cp = self.store.cp(r.cp_id)
        if transition and cp is not None and cp.state == CpState.RESERVED:
            self.store.transition(r.cp_id, CpEvent.RELEASE, now)
        self._to_driver(
            ReservationReleased(driver_id=r.driver_id, reservation_id=r.reservation_id, cp_id=r.cp_id, reason=reason),
        )

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
