"""What an attacker writes into each topic the network consumes: every message type read there,
each claiming an identity it cannot prove (``SystemSpec.forgeries``, written by ``inject-forged``).

The victims are ``D1`` and ``CP_001`` (and Central, and the operator); the insiders are ``D2`` and
``CP_002``, real principals with real keys who try to pass for the victims. Each body is sent by
four liars: the victim's identity sealed with the insider's key, unsigned, and sealed with a key
nobody was given, and the insider's own identity, honestly sealed, with the victim in the payload.
The bodies aim at what a forgery would want: charge on D1's account, stop D1's live session, bill
CP_001's session with five-figure kWh, report CP_001 faulty, register a fake CP, stop every CP,
tell CP_001 to supply a session Central never made, send D1 a ticket or an authorization.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from chaos.infra.endpoints import KafkaAccess
from evcharge.auth.keys import new_key, read_key
from evcharge.auth.seal import seal
from evcharge.messages import (
    AuthorizationRequest,
    AuthorizationResponse,
    ChargingCompleted,
    ChargingStarted,
    ClockTick,
    CpCommand,
    CpInfo,
    CpList,
    CpListRequest,
    Heartbeat,
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
    encode,
    make,
    new_id,
)

VICTIM_DRIVER, INSIDER_DRIVER = "D1", "D2"
VICTIM_CP, INSIDER_CP = "CP_001", "CP_002"
FAKE_CP = "CP_666"


@dataclass(frozen=True)
class Live:
    """The victims' latest reservation and session in Central's database (made-up ids if none)."""

    reservation: str = "forged-reservation"
    session: str = "forged-session"


def live(db: str) -> Live:
    if not Path(db).exists():
        return Live()
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        reservation = conn.execute("SELECT reservation_id FROM reservations WHERE driver_id=? ORDER BY created_at "
                                   "DESC LIMIT 1", (VICTIM_DRIVER,)).fetchone()
        session = conn.execute("SELECT session_id FROM sessions WHERE driver_id=? ORDER BY started_at DESC LIMIT 1",
                               (VICTIM_DRIVER,)).fetchone()
    return Live(reservation[0] if reservation else Live.reservation, session[0] if session else Live.session)


def driver_requests(ids: Live) -> list[Strict]:
    return [AuthorizationRequest(request_id=new_id(), driver_id=VICTIM_DRIVER, cp_id=VICTIM_CP),
            ChargingStarted(reservation_id=ids.reservation, driver_id=VICTIM_DRIVER, cp_id=VICTIM_CP),
            StopRequest(driver_id=VICTIM_DRIVER, session_id=ids.session),
            StopRequest(driver_id=VICTIM_DRIVER, reservation_id=ids.reservation),
            CpListRequest(request_id=new_id(), driver_id=VICTIM_DRIVER)]


def cp_events(ids: Live) -> list[Strict]:
    return [Telemetry(cp_id=VICTIM_CP, session_id=ids.session, kw=22.0, kwh=500.0, eur=175.0),
            ChargingCompleted(cp_id=VICTIM_CP, session_id=ids.session, kwh=99_999.0, duration_s=1.0)]


def monitor_events(_ids: Live) -> list[Strict]:
    return [Heartbeat(cp_id=VICTIM_CP, engine_ok=False, detail="forged KO"),
            Heartbeat(cp_id=FAKE_CP, engine_ok=True), ClockTick(partition=0)]


def commands(_ids: Live) -> list[Strict]:
    return [CpCommand(action="stop", cp_id=None), CpCommand(action="stop", cp_id=VICTIM_CP)]


def cp_commands(ids: Live) -> list[Strict]:
    return [StartSupply(cp_id=VICTIM_CP, session_id=new_id(), driver_id=INSIDER_DRIVER, price_eur_kwh=0.0),
            StopSupply(cp_id=VICTIM_CP, session_id=ids.session, reason="forged")]


def driver_events(ids: Live) -> list[Strict]:
    d1, cp = VICTIM_DRIVER, VICTIM_CP
    return [AuthorizationResponse(request_id=new_id(), driver_id=d1, authorized=True, cp_id=cp,
                                  reservation_id="forged-reservation", expires_at=0.0),
            CpList(request_id=new_id(), driver_id=d1, cps=[CpInfo(cp_id=cp, state="available")]),
            SessionStarted(driver_id=d1, session_id="forged-session", reservation_id=ids.reservation, cp_id=cp),
            SessionDenied(driver_id=d1, reservation_id=ids.reservation, reason="forged"),
            ReservationReleased(driver_id=d1, reservation_id=ids.reservation, cp_id=cp, reason="forged"),
            Telemetry(cp_id=cp, session_id=ids.session, kw=22.0, kwh=500.0, eur=175.0, driver_id=d1),
            Ticket(ticket_id=new_id(), session_id=ids.session, driver_id=d1, cp_id=cp, kwh=99_999.0,
                   price_eur=34_999.65, duration_s=1.0, reason="forged")]


BODIES: dict[str, Callable[[Live], list[Strict]]] = {
    Topics.DRIVER_REQUESTS: driver_requests, Topics.CP_EVENTS: cp_events, Topics.MONITOR_EVENTS: monitor_events,
    Topics.COMMANDS: commands, Topics.CP_COMMANDS: cp_commands, Topics.driver_events(VICTIM_DRIVER): driver_events,
}
"""Topic -> what a forger sends there (every message type its consumer acts on)."""


def victim(body: Strict) -> tuple[str, str, str]:
    """(the identity the body must come from, the insider's own identity, the insider's key file)."""
    if isinstance(body, Heartbeat):
        return f"monitor:{body.cp_id}", f"monitor:{INSIDER_CP}", f"cp-{INSIDER_CP}"
    if isinstance(body, Telemetry | ChargingCompleted) and getattr(body, "driver_id", None) is None:
        return f"engine:{VICTIM_CP}", f"engine:{INSIDER_CP}", f"cp-{INSIDER_CP}"
    if isinstance(body, CpCommand):
        return "operator:operator", f"driver:{INSIDER_DRIVER}", f"driver-{INSIDER_DRIVER}"
    if isinstance(body, AuthorizationRequest | ChargingStarted | StopRequest | CpListRequest):
        return f"driver:{VICTIM_DRIVER}", f"driver:{INSIDER_DRIVER}", f"driver-{INSIDER_DRIVER}"
    insider = (f"engine:{INSIDER_CP}", f"cp-{INSIDER_CP}") if isinstance(body, StartSupply | StopSupply | ClockTick) \
        else (f"driver:{INSIDER_DRIVER}", f"driver-{INSIDER_DRIVER}")
    return "central", *insider


def forge(values: Mapping[str, str], topic: str) -> Sequence[tuple[bytes, str]]:
    """Every body for ``topic`` from each of the four liars, sealed as each would seal it."""
    keys = Path(values["workdir"]) / "keys"
    made = []
    for body in BODIES[topic](live(values["db"])):
        claimed, insider, insider_key = victim(body)
        key = read_key(keys / f"{insider_key}.key")
        kind = type(body).__name__
        for source, sealing, how in ((claimed, key, f"sealed with {insider_key}'s key"),
                                     (claimed, None, "unsigned"),
                                     (claimed, new_key(), "sealed with a key nobody was given"),
                                     (insider, key, f"from {insider} for {claimed}'s business")):
            raw = encode(make(body, source))
            made.append((seal(raw, sealing) if sealing else raw, f"{kind} as {source}, {how}"))
    return made


def attempt_read(access: KafkaAccess, topic: str, timeout: float = 10.0) -> str:
    """Read ``topic`` from the start as ``access``'s principal would: "read N records", or "refused: ..."
    (the broker's own answer: the topic left out of the principal's metadata, or an authorization
    error raised by the fetch). The caller checks that the topic exists and holds records."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    consumer = KafkaConsumer(bootstrap_servers=access.bootstrap, enable_auto_commit=False, group_id=None,
                             request_timeout_ms=int(timeout * 1000), **dict(access.settings))
    try:
        if topic not in consumer.topics():  # the broker lists only what the principal may describe
            return "refused: not visible to this principal"
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        deadline = time.monotonic() + timeout
        count = 0
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            count += sum(len(records) for records in batch.values())
            if not batch and count:
                break
        return f"read {count} records"
    except KafkaError as exc:
        return f"refused: {type(exc).__name__}"
    finally:
        consumer.close()
