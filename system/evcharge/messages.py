"""Every message on the wire: one envelope, one payload model per type, and the topic names.

Why pydantic (v2) rather than dataclasses: every message crosses a trust boundary (another process,
possibly another team's, possibly a forged or truncated record), so we need strict validation with
precise error messages for the dead-letter topic — types, ranges, required fields, no unknown
fields. Dataclasses would need that written by hand; pydantic's Rust core does it faster than a
hand-written checker and serialises to JSON in the same pass, which matters for Central's
1,000 messages/s budget.

Envelope: ``message_id`` (dedup key), ``type`` (selects the payload model), ``timestamp`` (epoch s),
``source`` (who sent it), ``correlation_id`` (the user request the message belongs to) and
``causation_id`` (the message that caused this one).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")


def new_id() -> str:
    return uuid.uuid4().hex


class Strict(BaseModel):
    """Base of every model: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(Strict):
    message_id: str = Id
    type: str = Field(min_length=1, max_length=64)
    timestamp: float = Field(ge=0)
    source: str = Field(min_length=1, max_length=128)
    correlation_id: str | None = Field(default=None, max_length=64)
    causation_id: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any]


# -- topics ------------------------------------------------------------------------------------------
class Topics:
    """Topic names (without prefix). One topic per direction keeps each consumer's filter trivial."""

    DRIVER_REQUESTS = "driver-requests"  # driver -> central
    DRIVER_EVENTS = "driver-events"  # central -> drivers (key = driver id)
    CP_COMMANDS = "cp-commands"  # central -> engines (key = cp id)
    CP_EVENTS = "cp-events"  # engines -> central
    MONITOR_EVENTS = "monitor-events"  # monitors -> central
    COMMANDS = "commands"  # operator -> central (stop / resume)
    COMMAND_RESULTS = "command-results"  # central -> operators
    DEAD_LETTER = "dead-letter"  # central -> people: rejected input

    CENTRAL_INPUTS = (DRIVER_REQUESTS, CP_EVENTS, MONITOR_EVENTS, COMMANDS)


# -- payloads ----------------------------------------------------------------------------------------
class AuthorizationRequest(Strict):
    request_id: str = Id
    driver_id: str = Id
    cp_id: str | None = Id  # None: any available CP
    duration_s: float | None = Field(default=None, gt=0, le=86400)


class AuthorizationResponse(Strict):
    request_id: str = Id
    driver_id: str = Id
    authorized: bool
    cp_id: str | None = None
    reservation_id: str | None = None
    expires_at: float | None = None
    reason: str | None = None


class ChargingStarted(Strict):
    reservation_id: str = Id
    driver_id: str = Id
    cp_id: str = Id


class StopRequest(Strict):
    """Driver asks to end its charge, or to cancel a reservation it no longer wants."""

    driver_id: str = Id
    reservation_id: str | None = None
    session_id: str | None = None


class CpListRequest(Strict):
    request_id: str = Id
    driver_id: str = Id


class CpInfo(Strict):
    cp_id: str
    state: str


class CpList(Strict):
    request_id: str = Id
    driver_id: str = Id
    cps: list[CpInfo]


class SessionStarted(Strict):
    driver_id: str = Id
    session_id: str = Id
    reservation_id: str = Id
    cp_id: str = Id


class SessionDenied(Strict):
    driver_id: str = Id
    reservation_id: str = Id
    reason: str


class ReservationReleased(Strict):
    driver_id: str = Id
    reservation_id: str = Id
    cp_id: str = Id
    reason: str


class StartSupply(Strict):
    cp_id: str = Id
    session_id: str = Id
    driver_id: str = Id
    price_eur_kwh: float = Field(ge=0)
    duration_s: float | None = Field(default=None, gt=0)


class StopSupply(Strict):
    cp_id: str = Id
    session_id: str = Id
    reason: str


class Telemetry(Strict):
    cp_id: str = Id
    session_id: str = Id
    kw: float = Field(ge=0, le=1000)
    kwh: float = Field(ge=0, le=100000)
    eur: float = Field(ge=0)
    driver_id: str | None = None  # filled in by Central when relaying


class ChargingCompleted(Strict):
    cp_id: str = Id
    session_id: str = Id
    kwh: float = Field(ge=0, le=100000)
    duration_s: float = Field(ge=0)
    reason: str = "completed"


class Ticket(Strict):
    ticket_id: str = Id
    session_id: str = Id
    driver_id: str = Id
    cp_id: str = Id
    kwh: float
    price_eur: float
    duration_s: float
    reason: str


class Heartbeat(Strict):
    cp_id: str = Id
    engine_ok: bool
    detail: str = ""


class ClockTick(Strict):
    """Central's own mark in ``monitor-events``: see ``central/hearing.py``; nobody else sends it."""

    partition: int = Field(ge=0)


class CpCommand(Strict):
    action: Literal["stop", "resume"]
    cp_id: str | None = None  # None: every CP


class CommandResult(Strict):
    action: str
    cp_ids: list[str]
    failed: dict[str, str] = Field(default_factory=dict)


class DeadLetter(Strict):
    reason: str
    raw: str
    topic: str
    partition: int | None = None
    offset: int | None = None


PAYLOADS: dict[str, type[Strict]] = {
    "authorization_request": AuthorizationRequest,
    "authorization_response": AuthorizationResponse,
    "charging_started": ChargingStarted,
    "stop_request": StopRequest,
    "cp_list_request": CpListRequest,
    "cp_list": CpList,
    "session_started": SessionStarted,
    "session_denied": SessionDenied,
    "reservation_released": ReservationReleased,
    "start_supply": StartSupply,
    "stop_supply": StopSupply,
    "telemetry": Telemetry,
    "charging_completed": ChargingCompleted,
    "ticket": Ticket,
    "heartbeat": Heartbeat,
    "clock_tick": ClockTick,
    "cp_command": CpCommand,
    "command_result": CommandResult,
    "dead_letter": DeadLetter,
}
TYPE_OF: dict[type[Strict], str] = {model: name for name, model in PAYLOADS.items()}


class Message(Strict):
    """A decoded message: the envelope plus its validated payload."""

    envelope: Envelope
    body: Strict

    @property
    def type(self) -> str:
        return self.envelope.type

    @property
    def message_id(self) -> str:
        return self.envelope.message_id


class InvalidMessage(ValueError):
    """Raised by ``decode`` with a one-line reason suitable for the dead-letter record."""


def make(
    body: Strict,
    source: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    message_id: str | None = None,
) -> Message:
    """Wrap a payload in a fresh envelope."""
    envelope = Envelope(
        message_id=message_id or new_id(),
        type=TYPE_OF[type(body)],
        timestamp=time.time(),
        source=source,
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=body.model_dump(),
    )
    return Message(envelope=envelope, body=body)


def encode(message: Message) -> bytes:
    return message.envelope.model_dump_json().encode()


def decode(raw: bytes | str | None) -> Message:
    """Parse and validate bytes from Kafka; anything wrong raises InvalidMessage with the reason."""
    if raw is None:
        raise InvalidMessage("empty record")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidMessage(f"not JSON: {exc}") from None
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage(f"bad envelope: {_first_error(exc)}") from None
    model = PAYLOADS.get(envelope.type)
    if model is None:
        raise InvalidMessage(f"unknown message type {envelope.type!r}")
    try:
        body = model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise InvalidMessage(f"bad {envelope.type} payload: {_first_error(exc)}") from None
    return Message(envelope=envelope, body=body)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
    return f"{where}: {err.get('msg')} ({exc.error_count()} error(s))"
