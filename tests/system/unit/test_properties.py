"""Property tests: random envelopes, well-formed or not, fed to every handler.

Whatever arrives, Central must not raise, must answer bad input only with dead letters, and must
keep its invariants: at most one active reservation or session per CP, and a CP's state agrees
with what it holds; a CP with a session Central is stopping holds nothing else (it is granted to
nobody until the session's ticket). The driver and the engine must not raise either.
"""

import json
import time

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from evcharge.messages import PAYLOADS, Envelope, Topics
from evcharge.states import CpState

from .fakes import FakeBroker, fake_producer
from .helpers import CentralHarness

IDS = st.sampled_from(["CP_001", "CP_002", "CP_003", "D1", "D2", "x", "", "r1", "@res", "@ses", "a" * 70])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), IDS, st.text(max_size=5)
)
FIELDS = sorted({name for model in PAYLOADS.values() for name in model.model_fields} | {"junk"})
PAYLOAD = st.dictionaries(st.sampled_from(FIELDS), SCALARS, max_size=8)
ACTIONS = st.sampled_from(["stop", "resume", "explode"])
NOW = time.time()


def field_value(name: str):  # type: ignore[no-untyped-def]
    """A plausible value for a payload field, so most generated messages pass validation."""
    if name.endswith("_id"):
        return IDS
    if name in {"kw", "kwh", "eur", "duration_s", "price_eur_kwh", "price_eur", "expires_at"}:
        return st.one_of(st.none(), st.floats(-1, 200))
    if name in {"engine_ok", "authorized"}:
        return st.booleans()
    if name == "action":
        return ACTIONS
    if name == "cps":
        return st.just([])
    return st.text(max_size=8)


@st.composite
def envelopes(draw) -> bytes:
    kind = draw(st.sampled_from(["raw", "random", "typed", "typed", "typed"]))
    if kind == "raw":
        return draw(st.binary(max_size=40))
    msg_type = draw(st.sampled_from([*PAYLOADS, "bogus"]))
    if kind == "typed" and msg_type in PAYLOADS:
        fields = PAYLOADS[msg_type].model_fields
        payload = {name: draw(field_value(name)) for name in fields if draw(st.integers(0, 9))}
    else:
        payload = draw(PAYLOAD)
    env = {
        "message_id": draw(st.sampled_from(["m1", "m2", "m3"]) | st.uuids().map(lambda u: u.hex)),
        "type": msg_type,
        "timestamp": draw(st.floats(NOW - 3600, NOW + 60) | st.floats(0, 2e9)),  # mostly inside the window
        "source": "prop",
        "payload": payload,
    }
    if draw(st.integers(0, 9)) == 0:
        del env[draw(st.sampled_from(list(env)))]
    return json.dumps(env, default=str).encode()


def substitute_known_ids(c: CentralHarness, raw: bytes) -> bytes:
    """Point "@res"/"@ses" at a real reservation/session, so forged and genuine ids both occur."""
    res = c.store.conn.execute("SELECT reservation_id FROM reservations ORDER BY random() LIMIT 1").fetchone()
    ses = c.store.conn.execute("SELECT session_id FROM sessions ORDER BY random() LIMIT 1").fetchone()
    raw = raw.replace(b'"@res"', f'"{res[0]}"'.encode()) if res else raw
    return raw.replace(b'"@ses"', f'"{ses[0]}"'.encode()) if ses else raw


def check_invariants(c: CentralHarness) -> None:
    conn = c.store.conn
    for cp in c.store.cps():
        reservations = conn.execute(
            "SELECT COUNT(*) FROM reservations WHERE cp_id=? AND status='active'", (cp.cp_id,)
        ).fetchone()[0]
        sessions = conn.execute(
            "SELECT COUNT(*) FROM sessions WHERE cp_id=? AND status='active'", (cp.cp_id,)
        ).fetchone()[0]
        stopping = conn.execute(
            "SELECT COUNT(*) FROM sessions WHERE cp_id=? AND status='stopping'", (cp.cp_id,)
        ).fetchone()[0]
        assert reservations <= 1 and sessions <= 1 and reservations + sessions <= 1
        assert stopping <= 1 and (stopping == 0 or reservations + sessions == 0), cp
        assert (cp.state == CpState.RESERVED) == (reservations == 1), cp
        assert (cp.state == CpState.CHARGING) == (sessions == 1), cp
    tickets = conn.execute("SELECT COUNT(*), COUNT(DISTINCT session_id) FROM tickets").fetchone()
    assert tickets[0] == tickets[1]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(envelopes(), max_size=25))
def test_central_survives_any_input_and_keeps_its_invariants(raws):
    c = CentralHarness()
    c.register("CP_001", "CP_002")
    c.start("D1", "CP_001")
    c.authorize("D2", "CP_002", request_id="r2")
    accepted = 0
    for raw in raws:
        raw = substitute_known_ids(c, raw)
        replies = c.send_raw(raw)
        accepted += all(out.topic != Topics.DEAD_LETTER for out in replies)
        for out in replies:
            assert Topics.driver_of(out.topic) or out.topic in {Topics.CP_COMMANDS, Topics.DEAD_LETTER,
                                                                Topics.COMMAND_RESULTS}
        check_invariants(c)
        c.now += 1
        c.sweep()
        check_invariants(c)
    target(accepted)  # steer generation towards messages the handlers accept, not just dead letters


@settings(max_examples=60, deadline=None)
@given(st.lists(envelopes(), max_size=20))
def test_driver_and_engine_survive_any_input(raws):
    from evcharge.cp.engine import Engine, EngineConfig
    from evcharge.driver.core import Driver, DriverConfig

    from .fakes import FAST

    driver = Driver(DriverConfig("D1"), FAST, producer=fake_producer(FakeBroker()))
    driver.request_charge("CP_001")
    engine = Engine(EngineConfig("CP_001", health_port=0), FAST, producer=fake_producer(FakeBroker()))
    try:
        for raw in raws:
            driver.inbox.dispatch(raw)
            engine.inbox.dispatch(raw)
            engine.tick(0.0)
    finally:
        engine.health.close()


def test_envelope_rejects_unknown_fields():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Envelope.model_validate({"message_id": "m", "type": "t", "timestamp": 1, "source": "s", "payload": {}, "x": 1})
