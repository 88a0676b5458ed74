"""Decoding that cannot be knocked over: each bound of ``wire.py`` and the strict models, with the
one-line reason every rejection carries, and our own messages (Central's included) still round-trip."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evcharge import wire
from evcharge.messages import (
    PAYLOADS,
    AuthorizationRequest,
    ChargingCompleted,
    CpCommand,
    CpListRequest,
    DeadLetter,
    Heartbeat,
    InvalidMessage,
    SessionDenied,
    StopRequest,
    Telemetry,
    Ticket,
    decode,
    encode,
    make,
)

from .helpers import CentralHarness


def record(msg_type: str, payload: dict[str, Any], **envelope: Any) -> bytes:
    doc = {"message_id": "m1", "type": msg_type, "timestamp": time.time(), "source": "test", "payload": payload}
    return json.dumps({**doc, **envelope}).encode()


def telemetry(**fields: Any) -> bytes:
    return record("telemetry", {"cp_id": "CP_001", "session_id": "s1", "kw": 22, "kwh": 1.5, "eur": 0.5, **fields})


def heartbeat(**fields: Any) -> bytes:
    return record("heartbeat", {"cp_id": "CP_001", "engine_ok": True, **fields})


def reason(raw: bytes | str | None) -> str:
    with pytest.raises(InvalidMessage) as info:
        decode(raw)
    text = str(info.value)
    assert "\n" not in text and len(text) < 300, text  # one line, short enough to log and dead-letter
    return text


def reference_depth(raw: bytes) -> int:
    """Nesting depth by walking the bytes one by one: slow, obviously right."""
    depth = deepest = i = 0
    while i < len(raw):
        c = raw[i : i + 1]
        if c == b'"':
            i += 1
            while i < len(raw) and raw[i : i + 1] != b'"':
                i += 2 if raw[i : i + 1] == b"\\" else 1
        elif c in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif c in (b"]", b"}"):
            depth -= 1
        i += 1
    return deepest


# -- size ------------------------------------------------------------------------------------------
def test_a_record_over_the_size_bound_is_refused_before_parsing():
    raw = record("heartbeat", {"cp_id": "CP_001", "engine_ok": True, "detail": "x" * 300_000})
    assert reason(raw) == f"record of {len(raw)} bytes exceeds 262144"
    assert wire.MAX_RECORD_BYTES == 256 * 1024


def test_the_size_bound_comes_from_the_environment_and_a_bad_value_is_named():
    code = "from evcharge import wire; print(wire.MAX_RECORD_BYTES, wire.MAX_FUTURE_S, wire.MAX_AGE_S)"
    env = {"EVCHARGE_MAX_RECORD_BYTES": "1000", "EVCHARGE_MAX_FUTURE_S": "60", "EVCHARGE_MAX_AGE_S": "3600"}
    out = subprocess.run([sys.executable, "-c", code], env={**env, "PATH": ""}, capture_output=True, text=True)
    assert out.stdout.split() == ["1000", "60.0", "3600.0"], out.stderr
    bad = subprocess.run(
        [sys.executable, "-c", code], env={"EVCHARGE_MAX_RECORD_BYTES": "lots"}, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "EVCHARGE_MAX_RECORD_BYTES='lots' is not a number" in bad.stderr


# -- depth -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "nested",
    [b"[" * 5000 + b"]" * 5000, b'{"a": ' * 5000 + b"1" + b"}" * 5000, b"[" * 100_000, b'[{"a":' * 40],
)
def test_deep_nesting_is_refused_without_recursion(nested):
    raw = b'{"message_id": "nested-1", "type": "x", "payload": ' + nested + b"}"
    assert reason(raw) == "nested deeper than 32 levels"


def test_brackets_inside_strings_do_not_count():
    body = SessionDenied(driver_id="D1", reservation_id="r1", reason="[{" * 200)
    assert decode(encode(make(body, "central"))).body == body


@given(st.binary(max_size=60) | st.text(alphabet='[]{}"\\ a', max_size=60).map(str.encode))
def test_the_depth_scan_agrees_with_a_byte_by_byte_walk(raw):
    assert wire.nesting_depth(raw) == reference_depth(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'["' + b'\\"' * 130_000,  # an unterminated string of escaped quotes (quadratic for a naive regex)
        b"[" + b"[]," * 87_000 + b"[]]",  # many brackets, shallow: the scan runs to the end
        (b"[" * 32 + b"]" * 32) * 4000,
    ],
)
def test_the_depth_scan_of_a_large_record_is_fast(raw):
    """CPU time of this process, not wall time: a busy machine must not fail it (a quadratic scan of
    these records takes seconds of CPU, a linear one milliseconds)."""
    started = time.process_time()
    with pytest.raises(InvalidMessage):
        decode(raw)
    assert time.process_time() - started < 0.5


# -- strict types ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (heartbeat(engine_ok="true"), "payload.engine_ok: Input should be a valid boolean, got 'true'"),
        (heartbeat(engine_ok=1), "payload.engine_ok: Input should be a valid boolean, got 1"),
        (telemetry(kw="5"), "payload.kw: Input should be a valid number, got '5'"),
        (telemetry(kwh=True), "payload.kwh: Input should be a valid number, got True"),
        (telemetry(cp_id=12345), "payload.cp_id: Input should be a valid string, got 12345"),
        (telemetry(session_id={"unexpected": True}), "payload.session_id: Input should be a valid string"),
        (record("clock_tick", {"partition": 1.0}), "payload.partition: Input should be a valid integer, got 1.0"),
        (heartbeat(engine_ok=True)[:-2] + b', "junk": 1}}', "payload.junk: Extra inputs are not permitted"),
        (record("heartbeat", {"cp_id": "CP_001", "engine_ok": True}, timestamp="1"), "timestamp: Input should be"),
        (record("cp_command", {"action": "explode"}), "payload.action: Input should be 'stop' or 'resume'"),
    ],
)
def test_no_value_is_coerced(raw, fragment):
    assert fragment in reason(raw)


def test_an_integer_is_still_a_number():
    assert decode(telemetry(kw=22, kwh=0, eur=1)).body.kw == 22.0


# -- finite numbers --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (telemetry(kw=float("inf")), "bad telemetry: payload.kw: Infinity is not a finite number"),
        (telemetry(kwh=float("-inf")), "bad telemetry: payload.kwh: -Infinity is not a finite number"),
        (telemetry(eur=float("nan")), "bad telemetry: payload.eur: NaN is not a finite number"),
        (telemetry(kw=1.0).replace(b'"kw": 1.0', b'"kw": 1e999'), "bad telemetry: payload.kw: Infinity is not"),
        (
            record("heartbeat", {"cp_id": "CP_001", "engine_ok": True}, timestamp=float("nan")),
            "bad envelope: timestamp: NaN is not a finite number",
        ),
    ],
)
def test_non_finite_numbers_are_refused_and_named(raw, expected):
    assert reason(raw).startswith(expected)


def test_non_finite_literals_never_become_floats():
    data = wire.parse_object(b'{"a": NaN, "b": [Infinity, -Infinity]}')
    assert [repr(v) for v in (data["a"], *data["b"])] == ["NaN", "Infinity", "-Infinity"]
    assert not any(isinstance(v, float) for v in (data["a"], *data["b"]))


def test_a_ticket_with_infinite_energy_cannot_even_be_made():
    with pytest.raises(ValueError, match="finite"):
        Ticket(
            ticket_id="t",
            session_id="s",
            driver_id="D1",
            cp_id="CP_001",
            kwh=float("inf"),
            price_eur=1,
            duration_s=1,
            reason="completed",
        )


# -- string lengths --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (heartbeat(detail="x" * 501), "payload.detail: String should have at most 500 characters"),
        (telemetry(cp_id="C" * 65), "payload.cp_id: String should have at most 64 characters"),
        (record("session_denied", {"driver_id": "D1", "reservation_id": "r", "reason": "y" * 501}), "payload.reason"),
        (record("stop_supply", {"cp_id": "CP_001", "session_id": "s", "reason": "z" * 65}), "payload.reason"),
        (record("heartbeat", {"cp_id": "CP_001", "engine_ok": True}, source="s" * 129), "source: String should"),
        (record("dead_letter", {"reason": "r", "raw": "x" * 10_001, "topic": "t"}), "payload.raw: String should"),
    ],
)
def test_every_string_is_bounded(raw, fragment):
    assert fragment in reason(raw)


def test_every_string_field_of_every_model_has_a_bound():
    def bounded(info: Any) -> bool:
        return any(getattr(m, "max_length", None) or getattr(m, "pattern", None) for m in info.metadata)

    for name, model in PAYLOADS.items():
        for field, info in model.model_fields.items():
            if "str" in str(info.annotation) and "Literal" not in str(info.annotation):
                assert bounded(info), f"{name}.{field} has no length bound"


# -- timestamp window ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("offset", "fragment"),
    [(301, "s in the future (more than 300 s)"), (86_401, "s old (older than 86400 s)")],
)
def test_a_timestamp_outside_the_window_is_refused(offset, fragment):
    stamp = time.time() + (offset if "future" in fragment else -offset)
    raw = record("heartbeat", {"cp_id": "CP_001", "engine_ok": True}, timestamp=stamp)
    assert fragment in reason(raw)


@pytest.mark.parametrize("offset", [-200, 3600, 6 * 3600])
def test_skew_and_a_redelivery_after_an_outage_are_accepted(offset):
    """Clocks a few minutes apart, and Central's outbox re-sent hours after an outage, still pass."""
    raw = record("heartbeat", {"cp_id": "CP_001", "engine_ok": True}, timestamp=time.time() - offset)
    assert decode(raw).body.cp_id == "CP_001"


def test_a_stale_rejection_carries_the_message_so_its_addressee_can_be_told():
    raw = record("heartbeat", {"cp_id": "CP_002", "engine_ok": True}, timestamp=time.time() - 10**6)
    with pytest.raises(InvalidMessage) as info:
        decode(raw)
    assert info.value.message.body.cp_id == "CP_002"


# -- shapes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "empty record"),
        (b"", "empty record"),
        (b"[1, 2, 3]", "not a JSON object but an array"),
        (b"null", "not a JSON object but null"),
        (b'"text"', "not a JSON object but a string"),
        (b"\xff\xfe\x00binary\x00", "not UTF-8: "),
        (b'{"message_id": "m1", "type": ', "not JSON: "),
    ],
)
def test_what_is_not_a_message_says_what_it_is(raw, expected):
    assert reason(raw).startswith(expected)


# -- our own messages still pass -------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        Ticket(
            ticket_id="t1",
            session_id="s1",
            driver_id="D1",
            cp_id="CP_001",
            kwh=0.1 + 0.2,
            price_eur=1e-7,
            duration_s=12345.678901,
            reason="completed",
        ),
        Telemetry(cp_id="CP_001", session_id="s1", kw=22.0, kwh=0.006111, eur=0.002139, driver_id="D1"),
        ChargingCompleted(cp_id="CP_001", session_id="s1", kwh=0, duration_s=0, reason="stopped_by_driver_stop"),
        AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None, duration_s=5.0),
        StopRequest(driver_id="D1", session_id="s1"),
        CpListRequest(request_id="r1", driver_id="D1"),
        CpCommand(action="stop"),
        Heartbeat(cp_id="CP_001", engine_ok=False, detail="engine unreachable: " + "x" * 400),
        DeadLetter(reason="r" * 500, raw="x" * 10_000, topic="t.cp-commands", partition=0, offset=7),
    ],
)
def test_our_messages_round_trip(body):
    message = make(body, "test", correlation_id="c1")
    assert decode(encode(message)).body == body


def test_everything_central_sends_decodes():
    c = CentralHarness()
    c.register("CP_001", "CP_002")
    outgoing = list(c.send(CpListRequest(request_id="l1", driver_id="D1")))
    session = c.start("D1", "CP_001")
    outgoing += c.send(Telemetry(cp_id="CP_001", session_id=session, kw=22, kwh=0.5, eur=0.2))
    outgoing += c.send(StopRequest(driver_id="D1", session_id=session))
    outgoing += c.complete("CP_001", session, kwh=0.123456789)
    outgoing += c.send(AuthorizationRequest(request_id="r9", driver_id="D2", cp_id="CP_404"))
    c.authorize("D2", "CP_002", request_id="r2")
    c.now += 60
    outgoing += c.send(CpCommand(action="stop"))
    outgoing += c.send_raw(b'{"junk": Infinity}')
    outgoing += c.sweep()
    types = {out.message.type for out in outgoing}
    assert {"cp_list", "telemetry", "stop_supply", "ticket", "authorization_response", "command_result"} <= types
    assert {"dead_letter", "reservation_released"} <= types
    for out in outgoing:
        assert decode(encode(out.message)).body == out.message.body
