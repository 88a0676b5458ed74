"""The driver's logic: requests with deadlines, Central's answers, and the resilient Kafka clients.

A request made while Kafka is away is accepted as ``pending``: its ``authorization_request`` waits
in the producer's send queue and goes out when Kafka returns. If Central has not answered by the
deadline the request ends ``failed`` with the reason; should Central's authorization arrive later
anyway, the driver cancels that reservation at once so the CP is not held for nothing.

Every state has a deadline, not only ``pending``: an ``authorized`` request whose session does not
start within ``start_deadline`` fails (and its reservation is cancelled), a ``charging`` or
``stopping`` one that hears neither telemetry nor its ticket for ``charging_silence`` fails (and its
session is stopped). Finished requests stay queryable for ``retention`` s, and at most
``max_finished`` of them are kept: the table is bounded. The inbox and the deadline watcher run
supervised; ``loops_down`` says which is down, for ``/health``.

Handlers take decoded ``Message``s and never touch Kafka directly, so tests feed them envelopes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from evcharge.auth.component import NO_AUTH, ComponentAuth
from evcharge.config import KafkaSettings
from evcharge.driver.requests import ChargeRequest
from evcharge.inbox import Inbox
from evcharge.kafka import ResilientProducer
from evcharge.logs import bound
from evcharge.messages import (
    AuthorizationRequest,
    AuthorizationResponse,
    ChargingStarted,
    CpList,
    CpListRequest,
    Message,
    ReservationReleased,
    SessionDenied,
    SessionStarted,
    StopRequest,
    Strict,
    Telemetry,
    Ticket,
    Topics,
    make,
    new_id,
)
from evcharge.supervise import Supervised, down

log = logging.getLogger("evcharge.driver")


@dataclass(frozen=True)
class DriverConfig:
    driver_id: str
    request_deadline: float = 90.0  # pending: Central's answer
    cp_list_timeout: float = 5.0
    start_deadline: float = 60.0  # authorized: session_started
    charging_silence: float = 60.0  # charging/stopping: telemetry or the ticket
    retention: float = 3600.0  # finished requests kept this long...
    max_finished: int = 10_000  # ...and at most this many


class Driver:
    """Thread-safe: the HTTP API, the services runner and the inbox thread all call in."""

    variant = "fixed"

    def __init__(
        self, config: DriverConfig, kafka: KafkaSettings, producer: ResilientProducer | None = None,
        auth: ComponentAuth = NO_AUTH,
    ) -> None:
        self.config = config
        self.kafka = kafka
        self.source = f"driver:{config.driver_id}"
        self.auth = auth
        self.producer = producer or ResilientProducer(kafka, self.source, seal=auth.sealer)
        self.inbox = Inbox(
            kafka,
            [Topics.driver_events(config.driver_id)],
            f"driver-{config.driver_id}",
            self.source,
            self.on_message,
            wanted=lambda m: getattr(m.body, "driver_id", None) == config.driver_id,
            producer=self.producer,
            own_key=config.driver_id,
            gate=auth.gate(),
        )
        self.requests: dict[str, ChargeRequest] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._cp_lists: dict[str, list[dict[str, Any]]] = {}
        self._cp_lists_wanted: set[str] = set()  # only answers someone waits for are kept
        self.stopping = threading.Event()
        self.deadlines = Supervised("deadlines", self._watch_deadlines, self.stopping)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Driver:
        self.inbox.start()
        self.deadlines.start()
        log.info("driver started", extra={"variant": self.variant})
        return self

    def loops_down(self) -> dict[str, str]:
        """The driver's loops that are down (between a crash and its restart), with the error."""
        return down([self.inbox.loop, self.deadlines])

    def close(self) -> None:
        self.stopping.set()
        self.inbox.stop()
        self.producer.close(drain_timeout=2.0)

    # -- actions ---------------------------------------------------------------------------------
    def request_charge(self, cp_id: str | None = None, duration_s: float | None = None) -> ChargeRequest:
        """Accept a request now (pending), send it when Kafka allows; see the module docstring."""
        request = ChargeRequest(new_id(), cp_id, duration_s, time.time() + self.config.request_deadline)
        request.move("pending")
        body = AuthorizationRequest(
            request_id=request.request_id, driver_id=self.config.driver_id, cp_id=cp_id, duration_s=duration_s
        )
        with self._lock:
            self.requests[request.request_id] = request
        with bound(request_id=request.request_id, cp_id=cp_id):
            log.info("charge requested")
            self._send(body, correlation_id=request.request_id)
        return request

    def stop(self, request_id: str) -> ChargeRequest:
        """Stop a charge, or cancel a request that is not charging yet. KeyError if unknown."""
        with self._lock:
            request = self.requests[request_id]
            if request.final:
                return request
            if request.session_id:
                self._send(
                    StopRequest(driver_id=self.config.driver_id, session_id=request.session_id),
                    correlation_id=request_id,
                )
                request.move("stopping")
                request.deadline = time.time() + self.config.charging_silence
            else:
                if request.reservation_id:
                    self._cancel_reservation(request.reservation_id, request_id)
                request.move("cancelled", "cancelled by the driver")
                self._changed.notify_all()
            return request

    def list_cps(self) -> list[dict[str, Any]]:
        """Ask Central for the CP table; TimeoutError if it does not answer in time."""
        request_id = new_id()
        with self._lock:
            self._cp_lists_wanted.add(request_id)
        self._send(CpListRequest(request_id=request_id, driver_id=self.config.driver_id), correlation_id=request_id)
        deadline = time.monotonic() + self.config.cp_list_timeout
        with self._lock:
            try:
                while request_id not in self._cp_lists:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"Central did not answer within {self.config.cp_list_timeout:.0f} s")
                    self._changed.wait(remaining)
                return self._cp_lists.pop(request_id)
            finally:
                self._cp_lists_wanted.discard(request_id)
                self._cp_lists.pop(request_id, None)

    def wait_final(self, request_id: str, timeout: float) -> ChargeRequest:
        """Block until the request reaches a final state or ``timeout`` passes; returns it either way."""
        deadline = time.monotonic() + timeout
        with self._lock:
            request = self.requests[request_id]
            while not request.final and time.monotonic() < deadline:
                self._changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            return request

    def snapshot(self, request_id: str | None = None) -> Any:
        with self._lock:
            if request_id is not None:
                return self.requests[request_id].to_json()
            return [r.to_json() for r in self.requests.values()]

    # -- messages from Central -------------------------------------------------------------------
    def on_message(self, message: Message) -> None:
        body = message.body
        with self._lock:
            if isinstance(body, CpList):
                if body.request_id in self._cp_lists_wanted:  # a late answer would stay for ever
                    self._cp_lists[body.request_id] = [cp.model_dump() for cp in body.cps]
            else:
                request = self._request_for(body)
                if request is None:
                    log.info("message for no request of ours ignored")
                    return
                with bound(request_id=request.request_id, cp_id=request.cp_id):
                    self._apply(request, body, message)
            self._changed.notify_all()

    def _request_for(self, body: Strict) -> ChargeRequest | None:
        if isinstance(body, AuthorizationResponse):
            return self.requests.get(body.request_id)
        reservation_id = getattr(body, "reservation_id", None)
        session_id = getattr(body, "session_id", None)
        for request in self.requests.values():
            if reservation_id is not None and reservation_id == request.reservation_id:
                return request
            if session_id is not None and session_id == request.session_id:
                return request
        return None

    def _apply(self, request: ChargeRequest, body: Strict, message: Message) -> None:
        if isinstance(body, AuthorizationResponse):
            self._on_authorization(request, body)
        elif isinstance(body, SessionStarted):
            request.session_id = body.session_id
            if request.state in ("pending", "authorized"):
                request.move("charging")
                request.deadline = time.time() + self.config.charging_silence
            elif request.final and request.state != "completed":
                log.warning("session started after the request ended: stopping it", extra={"state": request.state})
                self._stop_session(body.session_id, request.request_id)
        elif isinstance(body, Telemetry):
            request.telemetry = {"kw": body.kw, "kwh": body.kwh, "eur": body.eur}
            if not request.final:
                request.deadline = time.time() + self.config.charging_silence
        elif isinstance(body, Ticket):
            request.ticket = body.model_dump()
            log.info("ticket received", extra={"kwh": body.kwh, "price_eur": body.price_eur, "state": request.state})
            if not request.final:
                request.move("completed", body.reason)
        elif isinstance(body, (ReservationReleased, SessionDenied)) and not request.final:
            request.move("failed", body.reason)
            log.warning("request failed", extra={"reason": body.reason})

    def _on_authorization(self, request: ChargeRequest, body: AuthorizationResponse) -> None:
        if request.state != "pending":
            if body.authorized and request.final and body.reservation_id:
                log.warning("authorization arrived after the request ended: releasing the reservation")
                self._cancel_reservation(body.reservation_id, request.request_id)
            return
        if not body.authorized:
            request.move("denied", body.reason)
            log.info("request denied", extra={"reason": body.reason})
            return
        request.cp_id, request.reservation_id = body.cp_id, body.reservation_id
        request.move("authorized")
        request.deadline = time.time() + self.config.start_deadline
        log.info("authorized; starting the charge", extra={"cp_id": body.cp_id})
        assert body.cp_id is not None and body.reservation_id is not None
        self.send_charging_started(
            ChargingStarted(reservation_id=body.reservation_id, driver_id=self.config.driver_id, cp_id=body.cp_id),
            request.request_id,
        )

    def send_charging_started(self, body: ChargingStarted, request_id: str) -> None:
        """The seed's critical line: here it always goes through the resilient send queue."""
        self._send(body, correlation_id=request_id)

    def _cancel_reservation(self, reservation_id: str, request_id: str) -> None:
        self._send(
            StopRequest(driver_id=self.config.driver_id, reservation_id=reservation_id),
            correlation_id=request_id,
        )

    def _stop_session(self, session_id: str, request_id: str) -> None:
        self._send(StopRequest(driver_id=self.config.driver_id, session_id=session_id), correlation_id=request_id)

    def _send(self, body: Strict, correlation_id: str | None = None) -> None:
        message = make(body, self.source, correlation_id=correlation_id)
        self.producer.send(self.kafka.topic(Topics.DRIVER_REQUESTS), message, key=self.config.driver_id)

    # -- deadlines -------------------------------------------------------------------------------
    def _watch_deadlines(self) -> None:
        while not self.stopping.wait(0.5):
            now = time.time()
            self.expire(now)
            self.prune(now)

    def expire(self, now: float) -> None:
        """Fail every request whose next word from Central is overdue, whatever its state, and undo
        what it holds at Central (the reservation, the session) so no CP stays taken for nothing."""
        with self._lock:
            for request in self.requests.values():
                if request.final or now < request.deadline:
                    continue
                with bound(request_id=request.request_id, cp_id=request.cp_id):
                    reason = self._overdue(request) + f" ({self._link()})"
                    request.move("failed", reason)
                    log.error("request failed: %s", reason)
                    if request.session_id:
                        self._stop_session(request.session_id, request.request_id)
                    elif request.reservation_id:
                        self._cancel_reservation(request.reservation_id, request.request_id)
                self._changed.notify_all()

    def _overdue(self, request: ChargeRequest) -> str:
        """What did not come in time, for the request's reason."""
        if request.state == "pending":
            return f"no answer from Central within {self.config.request_deadline:.0f} s"
        if request.state == "authorized":
            return (
                f"authorized on {request.cp_id} but the session did not start within {self.config.start_deadline:.0f} s"
            )
        return (
            f"no telemetry or ticket from {request.cp_id} for {self.config.charging_silence:.0f} s"
            f" while {request.state}"
        )

    def _link(self) -> str:
        return (
            f"kafka {'reachable' if self.producer.connected else 'unreachable'},"
            f" {self.producer.pending()} message(s) not yet sent"
        )

    def prune(self, now: float) -> None:
        """Forget finished requests older than ``retention``, and the oldest beyond ``max_finished``."""
        with self._lock:
            finished = sorted((r for r in self.requests.values() if r.final), key=lambda r: r.ended_at or r.created_at)
            excess = len(finished) - self.config.max_finished
            for index, request in enumerate(finished):
                if index >= excess and (request.ended_at or request.created_at) >= now - self.config.retention:
                    break
                del self.requests[request.request_id]
