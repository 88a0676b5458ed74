"""Message authentication: the seal on the wire, who may claim what, the gate, and Central's use of
the registry (a real SQLite file, changed by a second connection as the registry server would)."""

from __future__ import annotations

import json
import os

import pytest

from evcharge.audit import AuditLog
from evcharge.auth.claims import claim_problem, principal_of
from evcharge.auth.gate import Gate, central_only
from evcharge.auth.keys import KeyError_, KeyFile, new_key, read_key, write_key
from evcharge.auth.seal import seal, signed_body, verify
from evcharge.central.auth import CentralAuth
from evcharge.central.handlers import CentralConfig
from evcharge.central.processor import Processor
from evcharge.central.store import Store
from evcharge.messages import (
    AuthorizationRequest,
    ChargingCompleted,
    Heartbeat,
    StartSupply,
    StopRequest,
    Strict,
    Telemetry,
    decode,
    encode,
    make,
)
from evcharge.registry.store import RegistryError, RegistryStore, RegistryView
from evcharge.states import CpState

KEY = bytes(range(32))


def sealed(body: Strict, source: str, key: bytes = KEY) -> bytes:
    return seal(encode(make(body, source)), key)


REQUEST = AuthorizationRequest(request_id="r1", driver_id="D1", cp_id="CP_001")


# -- the seal ------------------------------------------------------------------------------------
def test_a_sealed_record_verifies_under_its_key_only_and_still_decodes():
    raw = sealed(REQUEST, "driver:D1")
    assert verify(raw, [KEY]) and not verify(raw, [new_key()])
    assert decode(raw).body == REQUEST and json.loads(raw)["mac"] == signed_body(raw)[1]  # type: ignore[index]


@pytest.mark.parametrize("edit", [
    lambda raw: raw.replace(b'"CP_001"', b'"CP_002"'),  # another CP
    lambda raw: raw.replace(b'"driver:D1"', b'"driver:D2"'),  # another sender
    lambda raw: raw.replace(b'{"message_id"', b'{ "message_id"'),  # same JSON, other bytes
])
def test_any_change_to_a_sealed_record_breaks_its_seal(edit):
    raw = sealed(REQUEST, "driver:D1")
    assert not verify(edit(raw), [KEY])


def test_an_unsigned_record_has_no_seal_and_only_an_encoded_record_can_be_sealed():
    assert signed_body(encode(make(REQUEST, "driver:D1"))) is None
    with pytest.raises(ValueError, match="only an unsigned record"):
        seal(b'{"a": 1}', KEY)


# -- claims ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "source", "allowed"), [
    (REQUEST, "driver:D1", True),
    (REQUEST, "driver:D2", False),  # a request on another driver's account
    (REQUEST, "central", False),
    (StopRequest(driver_id="D1", session_id="s1"), "driver:D2", False),
    (ChargingCompleted(cp_id="CP_001", session_id="s", kwh=1.0, duration_s=1.0), "engine:CP_001", True),
    (ChargingCompleted(cp_id="CP_001", session_id="s", kwh=1.0, duration_s=1.0), "engine:CP_002", False),
    (ChargingCompleted(cp_id="CP_001", session_id="s", kwh=1.0, duration_s=1.0), "monitor:CP_001", False),
    (Heartbeat(cp_id="CP_001", engine_ok=True), "monitor:CP_001", True),
    (Heartbeat(cp_id="CP_001", engine_ok=True), "engine:CP_002", False),
    (StartSupply(cp_id="CP_001", session_id="s", driver_id="D1", price_eur_kwh=0.3), "central", True),
    (StartSupply(cp_id="CP_001", session_id="s", driver_id="D1", price_eur_kwh=0.3), "engine:CP_001", False),
    (Telemetry(cp_id="CP_001", session_id="s", kw=1.0, kwh=1.0, eur=0.3), "central", True),
])
def test_a_sender_may_send_only_what_its_role_sends_and_only_for_itself(body, source, allowed):
    assert (claim_problem(make(body, source)) is None) is allowed


def test_an_engine_and_a_monitor_sign_with_their_cps_key():
    assert principal_of("engine:CP_001") == principal_of("monitor:CP_001") != principal_of("driver:CP_001")


# -- the gate ----------------------------------------------------------------------------------------
def test_the_gate_refuses_unsigned_forged_and_unregistered_records_and_audits_each(tmp_path):
    audit = AuditLog(tmp_path / "audit", "test")
    gate = Gate(lambda source, _recheck: [KEY] if source == "driver:D1" else [], audit=audit)
    cases = {
        "unsigned": encode(make(REQUEST, "driver:D1")),
        "bad MAC": sealed(REQUEST, "driver:D1", new_key()),
        "not registered": sealed(AuthorizationRequest(request_id="r", driver_id="D9", cp_id=None), "driver:D9"),
    }
    for expected, raw in cases.items():
        assert expected in (gate.refusal(raw, decode(raw), "t:0:1") or "")
    assert gate.refusal(sealed(REQUEST, "driver:D1"), decode(sealed(REQUEST, "driver:D1"))) is None
    lines = [json.loads(line) for line in (tmp_path / "audit").read_text().splitlines()]
    refused = [("message", "refused", "t:0:1")] * 3
    assert [(line["action"], line["outcome"], line["source"]) for line in lines] == refused


def test_a_component_gate_believes_only_central_sealed_with_the_components_key(tmp_path):
    write_key(tmp_path / "cp.key", KEY)
    gate = Gate(central_only(KeyFile(tmp_path / "cp.key")), accepts={"central"})
    order = StartSupply(cp_id="CP_001", session_id="s", driver_id="D1", price_eur_kwh=0.3)
    good, as_cp = sealed(order, "central"), sealed(Heartbeat(cp_id="CP_001", engine_ok=True), "monitor:CP_001")
    assert gate.refusal(good, decode(good)) is None
    assert "may not send to this component" in (gate.refusal(as_cp, decode(as_cp)) or "")


def test_a_key_file_is_read_again_after_a_rotation(tmp_path):
    write_key(tmp_path / "k", KEY)
    key_file = KeyFile(tmp_path / "k")
    fresh = new_key()
    write_key(tmp_path / "k", fresh)
    assert key_file.key(recheck=True) == fresh
    assert os.stat(tmp_path / "k").st_mode & 0o777 == 0o600


def test_a_key_file_that_is_missing_or_not_a_key_says_what_to_do(tmp_path):
    with pytest.raises(KeyError_, match="enroll the component first"):
        read_key(tmp_path / "none")
    (tmp_path / "bad").write_text("not hex")
    with pytest.raises(KeyError_, match="does not hold a hex key"):
        read_key(tmp_path / "bad")


# -- the registry's database --------------------------------------------------------------------------
def test_central_sees_a_rotation_and_a_revocation_at_its_next_lookup(tmp_path):
    registry = RegistryStore(tmp_path / "registry.db")
    first = registry.enroll("cp", "CP_001")
    view = RegistryView(tmp_path / "registry.db")
    cp = principal_of("engine:CP_001")
    assert view.keys(cp) == (first,)
    second = registry.rotate("cp", "CP_001")
    assert view.keys(cp) == (second, first)  # the old key in its grace
    registry.revoke("cp", "CP_001")
    assert view.keys(cp) == ()
    with pytest.raises(RegistryError, match="enroll it first"):
        registry.rotate("cp", "CP_404")
    with pytest.raises(RegistryError, match="rotate its key instead"):
        registry.enroll("driver", "D1") and registry.enroll("driver", "D1")


def test_a_registry_view_of_a_missing_database_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="evcharge registry init"):
        RegistryView(tmp_path / "none.db")


# -- Central --------------------------------------------------------------------------------------------
@pytest.fixture
def secured(tmp_path):
    registry = RegistryStore(tmp_path / "registry.db")
    keys = {name: registry.enroll(kind, name) for kind, name in (("driver", "D1"), ("driver", "D2"), ("cp", "CP_001"))}
    registry.enroll("central", "central")
    store = Store(tmp_path / "central.db")
    with store.transaction():
        store.register_cp("CP_001", CpState.AVAILABLE, True, 0.0)
    auth = CentralAuth(RegistryView(tmp_path / "registry.db"), AuditLog(tmp_path / "central.audit", "central"))
    processor = Processor(store, CentralConfig(), auth.gate)
    return processor, keys, registry, tmp_path


def process(processor: Processor, raw: bytes) -> list:
    with processor.store.transaction():
        return processor.process(raw, 1.0e9, "t.driver-requests", 0, 7)


def test_central_refuses_a_request_forged_with_another_drivers_key_and_it_changes_nothing(secured):
    processor, keys, _registry, tmp_path = secured
    forged = sealed(REQUEST, "driver:D1", keys["D2"])  # D2 speaks as D1
    out = process(processor, forged)
    assert [o.message.type for o in out] == ["dead_letter"] and "bad MAC" in out[0].message.body.reason
    assert processor.store.cp("CP_001").state == CpState.AVAILABLE
    assert not processor.store.already_processed(decode(forged).message_id)  # the real one may still come
    assert "bad MAC" in (tmp_path / "central.audit").read_text()
    real = process(processor, seal(forged.replace(forged[forged.rindex(b'"mac"'):], b'"mac":null}'), keys["D1"]))
    assert [o.message.type for o in real] == ["authorization_response"] and real[0].message.body.authorized


def test_central_seals_each_reply_with_its_recipients_key(secured):
    processor, keys, _registry, tmp_path = secured
    auth = CentralAuth(RegistryView(tmp_path / "registry.db"))
    [reply] = process(processor, sealed(REQUEST, "driver:D1", keys["D1"]))
    raw = auth.sealer(reply.topic, reply.key)(encode(reply.message))
    assert verify(raw, [keys["D1"]]) and not verify(raw, [keys["D2"]])


def test_a_revoked_cp_is_refused_at_once(secured):
    processor, keys, registry, _tmp = secured
    beat = Heartbeat(cp_id="CP_001", engine_ok=True)
    assert process(processor, sealed(beat, "monitor:CP_001", keys["CP_001"])) == []
    registry.revoke("cp", "CP_001")
    [letter] = process(processor, sealed(beat, "monitor:CP_001", keys["CP_001"]))
    assert "not registered (or its key was revoked)" in letter.message.body.reason


def test_an_engine_acts_only_on_commands_central_sealed_for_it(tmp_path):
    from evcharge.auth.component import ComponentAuth
    from evcharge.inbox import Inbox

    from .consumers import FakeConsumer
    from .fakes import FAST

    write_key(tmp_path / "cp.key", KEY)
    auth = ComponentAuth(KeyFile(tmp_path / "cp.key"), AuditLog(tmp_path / "cp.audit", "engine-CP_001"))
    handled: list = []
    inbox = Inbox(FAST, ["cp-commands"], "g", "engine:CP_001", handled.append,
                  wanted=lambda m: getattr(m.body, "cp_id", None) == "CP_001",
                  consumer=FakeConsumer(), gate=auth.gate())  # type: ignore[arg-type]
    order = StartSupply(cp_id="CP_001", session_id="s1", driver_id="D1", price_eur_kwh=0.3)
    forged = sealed(order, "central", new_key())  # someone else's key
    inbox.dispatch(forged, "t.cp-commands", 0, 1)
    inbox.dispatch(encode(make(order, "central")), "t.cp-commands", 0, 2)  # unsigned
    assert handled == [] and inbox.rejected == 2
    inbox.dispatch(seal(forged[: forged.rindex(b'"mac"')] + b'"mac":null}', KEY), "t.cp-commands", 0, 3)
    assert [m.body for m in handled] == [order]  # the real one, with the id the forgery carried
    assert (tmp_path / "cp.audit").read_text().count('"refused"') == 2


def test_a_forged_clock_tick_does_not_move_centrals_clock(tmp_path):
    from evcharge.central.hearing import HeardClock

    from .test_central_hearing import STEP, TOPIC, tick_record

    registry = RegistryStore(tmp_path / "registry.db")
    central_key = registry.enroll("central", "central")
    auth = CentralAuth(RegistryView(tmp_path / "registry.db"))
    forger = HeardClock(TOPIC, STEP, seal=lambda raw: seal(raw, new_key()))
    hearing = HeardClock(TOPIC, STEP, seal=auth.sealer("monitor-events", None), gate=auth.gate)
    (forged,) = forger.ticks_due(1000.0, [0])
    assert not hearing.observe(tick_record(forged), 2000.0) and hearing.heard_up_to([0]) is None
    (real,) = hearing.ticks_due(1000.0, [0])
    assert verify(real.value, [central_key]) and hearing.observe(tick_record(real), 2000.0)


def test_a_relay_central_sealed_for_a_driver_is_not_taken_back_as_centrals_own(secured):
    processor, keys, registry, tmp_path = secured
    auth = CentralAuth(RegistryView(tmp_path / "registry.db"))
    relay = make(Telemetry(cp_id="CP_001", session_id="s", kw=1.0, kwh=1.0, eur=0.3, driver_id="D2"), "central")
    for_d2 = auth.sealer("driver-events.D2", "D2")(encode(relay))
    assert verify(for_d2, [keys["D2"]])
    [letter] = process(processor, for_d2)  # D2 copies it into Central's inputs
    assert "may not send telemetry to this component" in letter.message.body.reason
    registry.revoke("driver", "D2")
    assert signed_body(auth.sealer("driver-events.D2", "D2")(encode(relay))) is None, "never Central's own key"


def test_a_component_accepts_its_replaced_key_for_the_grace_after_a_rotation(tmp_path):
    write_key(tmp_path / "k", KEY)
    key_file = KeyFile(tmp_path / "k")
    fresh = new_key()
    write_key(tmp_path / "k", fresh)
    assert key_file.keys(recheck=True) == [fresh, KEY]


def test_the_registry_database_is_readable_by_its_owner_only(tmp_path):
    registry = RegistryStore(tmp_path / "registry.db")
    registry.enroll("cp", "CP_001")
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir() if p.name.startswith("registry.db")}
    assert modes and set(modes.values()) == {0o600}, modes
