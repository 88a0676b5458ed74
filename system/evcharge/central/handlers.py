"""What each message does to Central's store, and which messages Central sends in answer.

Handlers never touch Kafka: they read and write the ``Store`` (inside the caller's transaction) and
return ``Outgoing`` messages, so they are tested with an in-memory database and no broker. Input
that must not change state (forged, inconsistent, addressed to the wrong CP) raises ``Rejected``;
the processor rolls the message's savepoint back and writes a dead letter.

Two kinds of "no": a *denial* is a normal answer to a well-formed request (no CP free, CP faulty,
driver already charging) and goes back to the driver; a *rejection* is bad input and goes to the
dead-letter topic.

A session ends one of two ways. The engine completes it (its ``charging_completed``: the duration
was reached, the driver asked it to stop, its engine failed) and the ticket bills the engine's final
reading at once. Or Central ends it (the CP's engine reported KO, its monitor went silent, an
operator stopped the CP, no telemetry): Central sends ``StopSupply`` and the session is ``stopping``
until the engine's ``charging_completed`` answers with its final reading, which the ticket then
bills (never less than the last telemetry), with Central's reason. While stopping, its telemetry is
still recorded and relayed, its driver counts as busy, and its CP is granted to nobody: the engine may
be supplying it until the stop arrives.

Every state a CP or a session can be left in has a way out that needs no one's cooperation: a
reservation expires (``reservation_ttl``), a silent monitor disconnects its CP (``heartbeat_timeout``),
a session whose engine sends no telemetry is stopped (``telemetry_timeout``), and a stopped session
whose engine never answers is billed with its last reading (``stop_grace``). The effects shared by
all those paths (release, stop, ticket) and the config are in ``effects``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from evcharge.central.effects import CentralConfig, Effects, Outgoing, Rejected
from evcharge.central.ids import fast_id
from evcharge.central.staleness import granted_after
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
    SessionDenied,
    SessionStarted,
    StartSupply,
    StopRequest,
    StopSupply,
    Strict,
    Telemetry,
    Topics,
)
from evcharge.states import UNAVAILABLE_REASON, CpEvent, CpState, InvalidTransition

__all__ = ["TELEMETRY_TIMEOUT_REASON", "CentralConfig", "Handlers", "Outgoing", "Rejected"]

log = logging.getLogger("evcharge.central")

TELEMETRY_TIMEOUT_REASON = "telemetry_timeout"
"""The reason of the stop order and of the ticket of a session closed for lack of telemetry."""


class Handlers(Effects):
    """One method per message type Central accepts (see ``handle``), and the periodic ``sweep``."""

    def __init__(self, store: Store, config: CentralConfig) -> None:
        super().__init__(store, config)
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

    def sweep(self, now: float, heard_up_to: float | None, heard_since: float | None = None) -> list[Outgoing]:
        """Periodic duties: release expired reservations; mark CPs whose monitor went silent; stop
        sessions whose engine went silent; bill stopped sessions whose final reading never came.

        Silence is measured at ``heard_up_to`` (see ``central/hearing.py``), not at ``now``: a CP is
        disconnected only if no heartbeat of its monitor was consumed in the ``heartbeat_timeout``
        before the point up to which Central is known to have heard everything. None: not known
        yet, so no CP is judged. Telemetry silence is judged on the same clock, and only once
        Central has heard without a gap (since ``heard_since``; None: no gap known) for a whole
        ``telemetry_timeout``, so Central's own deafness (a restart, a cut of its link, Kafka away)
        never stops a session. The ticks are in ``monitor-events``, not ``cp-events``, but the one
        consumer reads both, and the 30 s default dwarfs any lag between the two. Heartbeats go
        first: a CP whose monitor is silent too is disconnected, with that reason.

        The stop grace is judged the same way: a session is billed without the engine's answer only
        once Central has heard, without a gap, for ``stop_grace`` after it sent the stop. Were it
        measured on Central's wall clock, a restart or a Kafka outage longer than the grace would bill
        every stopped session with its last reading while the engines' completions (or even the stops,
        still in Central's outbox) waited in Kafka.
        """

        def run() -> None:
            for reservation in self.store.expired_reservations(now):
                self._release(reservation, "reservation_expired", now)
            if heard_up_to is None:
                return
            for cp_id in self.store.stale_cps(heard_up_to - self.config.heartbeat_timeout):
                self._apply(cp_id, CpEvent.MONITOR_LOST, "cp_disconnected", now)
            silent_before = heard_up_to - self.config.telemetry_timeout
            if heard_since is None or heard_since <= silent_before:
                for session in self.store.silent_sessions(silent_before):
                    self._time_out(session, now)
            stopped_before = heard_up_to - self.config.stop_grace
            if heard_since is None or heard_since <= stopped_before:
                for session in self.store.stopping_sessions(stopped_before):
                    self._give_up_stop(session, now)

        return self._collect(None, run)

    def _give_up_stop(self, session: Session, now: float) -> None:
        """Bill a stopped session whose engine never sent its final reading (partitioned, dead, or it
        never started the supply): its last reading, over the time until the stop was asked for (what
        the ticket of a stop used to say; the grace itself was not charging). A completion that comes
        later is a duplicate, ignored (and logged with the energy it would have added)."""
        log.warning(
            "no final reading %.1f s after the stop: billing the last one",
            self.config.stop_grace,
            extra={"cp_id": session.cp_id, "session_id": session.session_id, "kwh": session.kwh},
        )
        stopped_at = session.stop_requested_at if session.stop_requested_at is not None else now
        self._close_stopped(session, session.kwh, max(0.0, stopped_at - session.started_at), now)

    def _time_out(self, session: Session, now: float) -> None:
        """Stop a session with no telemetry for ``telemetry_timeout``: tell the engine to stop, and
        free the CP (``finish``: charging -> available, the table's way out of a session; the monitor
        still reports the CP healthy, or the heartbeat sweep would have disconnected it). The session
        waits in ``stopping`` like any other Central stops: a late completion bills the engine's
        reading; without one, the stop grace bills the last reading. The CP is offered to nobody until
        then (``Store.first_available_cp``)."""
        log.warning(
            "no telemetry for %.0f s: stopping the session",
            self.config.telemetry_timeout,
            extra={"cp_id": session.cp_id, "session_id": session.session_id, "kwh": session.kwh},
        )
        cp = self.store.cp(session.cp_id)
        if cp is not None and cp.state == CpState.CHARGING:
            self._apply(session.cp_id, CpEvent.FINISH, TELEMETRY_TIMEOUT_REASON, now)
        else:  # a session whose CP left charging without it: stop it all the same
            self._end_session(session, TELEMETRY_TIMEOUT_REASON, now)

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
        if reason is None and self.store.stopping_session_for_cp(req.cp_id) is not None:
            reason = "cp_busy"  # its engine may still be supplying the session Central stopped
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
        self.store.set_reservation_status(reservation.reservation_id, "used", now)
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
        """A driver's stop: of an active session, ``StopSupply`` (the engine's completion ends it); of
        a stopping one, nothing (Central sent its own stop already), nor of a closed one."""
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
        """The CP table, bounded: at most ``cp_list_limit`` CPs (available ones first), so the reply
        stays far below the producer's size limit however many CPs have registered. ``total`` says
        how many there are, where ``CpList`` has that field (a driver sees the list is partial)."""
        limit = self.config.cp_list_limit
        listed = self.store.cps_for_list(limit)
        total = self.store.cp_count() if len(listed) >= limit else len(listed)
        if total > len(listed):
            log.warning("CP list truncated", extra={"listed": len(listed), "total": total})
        extra = {"total": total} if "total" in CpList.model_fields else {}
        cps = [CpInfo(cp_id=cp.cp_id, state=cp.state.value) for cp in listed]
        self._to_driver(
            CpList(request_id=msg.request_id, driver_id=msg.driver_id, cps=cps, **extra),
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
        """Record and relay a reading: of an active session, or of a stopping one (the engine supplies
        until the stop reaches it, and the ticket must bill that energy too)."""
        session = self._session_of_cp(msg.cp_id, msg.session_id)
        if session.status == "closed":
            return  # late telemetry of a closed session: harmless, nothing to relay
        self.store.update_session_energy(session.session_id, msg.kwh, now)
        relay = msg.model_copy(update={"driver_id": session.driver_id})
        self._to_driver(relay)

    def on_charging_completed(self, msg: ChargingCompleted, now: float) -> None:
        """The engine's final reading: bills an active session with the engine's reason, a stopping one
        with Central's (why it stopped it) and never less than its last telemetry (readings only
        grow); a closed one has its ticket already: a duplicate changes nothing, a higher reading
        (the grace billed the session while its engine was away) amends the ticket."""
        session = self._session_of_cp(msg.cp_id, msg.session_id)
        if session.status == "closed":
            self._amend(session, msg.kwh)
            return
        if session.status == "stopping":
            self._close_stopped(session, max(msg.kwh, session.kwh), msg.duration_s, now)
        else:
            self._close_session(session, msg.kwh, msg.duration_s, msg.reason, now)
        cp = self.store.cp(msg.cp_id)
        if cp is not None and cp.state == CpState.CHARGING:
            self.store.transition(msg.cp_id, CpEvent.FINISH, now)

    def on_heartbeat(self, msg: Heartbeat, now: float) -> None:
        cp = self.store.cp(msg.cp_id)
        registered = self.config.registered_cps
        if cp is None and registered is not None and msg.cp_id not in registered:
            raise Rejected(f"heartbeat for unregistered CP {msg.cp_id!r}; registered: {', '.join(sorted(registered))}")
        if cp is None:
            state = CpState.AVAILABLE if msg.engine_ok else CpState.FAULT
            self.store.register_cp(msg.cp_id, state, msg.engine_ok, now)
            return
        self.store.record_heartbeat(msg.cp_id, msg.engine_ok, now)
        sent = self._cause.envelope.timestamp if self._cause is not None else None
        if not msg.engine_ok and sent is not None and (granted := granted_after(self.store, msg.cp_id, sent)):
            log.info(
                "engine KO ignored: reported before the CP was granted, the next heartbeat decides",
                extra={"cp_id": msg.cp_id, "granted": granted},
            )
            return
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
