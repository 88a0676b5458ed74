"""Central's behaviour message by message, on an in-memory store (no Kafka)."""

import time

from evcharge.central.store import Store
from evcharge.messages import (
    ChargingStarted,
    CpCommand,
    CpListRequest,
    Heartbeat,
    StopRequest,
    Telemetry,
    Topics,
    make,
)

from .helpers import CentralHarness, types


def test_a_full_session_ends_with_one_ticket_and_an_available_cp():
    c = CentralHarness()
    c.register("CP_001")
    session = c.start("D1", "CP_001")
    assert c.state("CP_001") == "charging"
    relay = c.send(Telemetry(cp_id="CP_001", session_id=session, kw=22, kwh=1.5, eur=0.6))
    assert relay[0].topic == Topics.driver_events("D1") and relay[0].message.body.driver_id == "D1"
    replies = c.complete("CP_001", session, kwh=10)
    (ticket,) = [r.message.body for r in replies if r.message.type == "ticket"]
    assert (ticket.kwh, ticket.price_eur, ticket.driver_id) == (10, 4.0, "D1")
    assert c.state("CP_001") == "available"


def test_charging_started_sends_start_supply_to_the_cp():
    c = CentralHarness()
    c.register("CP_001")
    auth = c.authorize("D1")
    replies = c.send(ChargingStarted(reservation_id=auth.reservation_id, driver_id="D1", cp_id="CP_001"))
    assert types(replies) == ["session_started", "start_supply"]
    assert replies[1].topic == Topics.CP_COMMANDS and replies[1].key == "CP_001"


def test_denials_carry_a_reason():
    c = CentralHarness()
    assert c.authorize("D1").reason == "no_cp_available"
    assert c.authorize("D1", "CP_404").reason == "unknown_cp"
    c.register("CP_001", "CP_002")
    c.register("CP_003", ok=False)
    assert c.authorize("D2", "CP_003").reason == "cp_faulty"
    c.send(CpCommand(action="stop", cp_id="CP_002"))
    assert c.authorize("D2", "CP_002").reason == "cp_stopped"
    assert c.authorize("D1", "CP_001").authorized
    assert c.authorize("D1").reason == "driver_already_charging"
    assert c.authorize("D2", "CP_001").reason == "cp_busy"


def test_duplicate_message_id_changes_nothing_and_answers_nothing():
    c = CentralHarness()
    c.register("CP_001", "CP_002")
    from evcharge.messages import AuthorizationRequest

    message = make(AuthorizationRequest(request_id="r", driver_id="D1", cp_id=None), "test")
    assert len(c.send_message(message)) == 1
    assert c.send_message(message) == []
    assert [cp.state.value for cp in c.store.cps()] == ["reserved", "available"]
    assert c.processor.duplicates == 1


def test_a_second_completion_makes_no_second_ticket():
    c = CentralHarness()
    c.register("CP_001")
    session = c.start("D1")
    assert "ticket" in types(c.complete("CP_001", session))
    assert c.complete("CP_001", session) == []  # new message id, same session: idempotent by state
    assert c.store.ticket_count(session) == 1


def test_a_repeated_charging_started_makes_no_second_session():
    c = CentralHarness()
    c.register("CP_001")
    auth = c.authorize("D1")
    start = ChargingStarted(reservation_id=auth.reservation_id, driver_id="D1", cp_id="CP_001")
    first = c.send(start)
    again = c.send(start)
    assert types(again) == ["session_started"]
    assert again[0].message.body.session_id == first[0].message.body.session_id


def test_forged_charging_started_is_dead_lettered_without_state_change():
    c = CentralHarness()
    c.register("CP_001")
    auth = c.authorize("D1")
    forged = c.send(ChargingStarted(reservation_id=auth.reservation_id, driver_id="EVE", cp_id="CP_001"))
    assert types(forged) == ["dead_letter"] and "another driver" in forged[0].message.body.reason
    assert c.state("CP_001") == "reserved"
    assert types(c.send(ChargingStarted(reservation_id="nope", driver_id="D1", cp_id="CP_001"))) == ["dead_letter"]


def test_with_a_registry_an_unknown_cp_cannot_register_by_heartbeat():
    c = CentralHarness(registered=frozenset({"CP_001"}))
    (letter,) = c.send(Heartbeat(cp_id="CP_FAKE", engine_ok=True))
    assert letter.topic == Topics.DEAD_LETTER
    assert letter.message.body.reason == "heartbeat for unregistered CP 'CP_FAKE'; registered: CP_001"
    assert [cp.cp_id for cp in c.store.cps()] == []
    c.register("CP_001")
    assert c.state("CP_001") == "available"
    assert CentralHarness().send(Heartbeat(cp_id="CP_ANY", engine_ok=True)) == [], "no list: an open network"


def test_garbage_is_dead_lettered():
    c = CentralHarness()
    for raw in (b"not json", b"{}", b'{"message_id":"x"}', b"[1,2]", b"\xff\xfe"):
        (letter,) = c.send_raw(raw)
        assert letter.topic == Topics.DEAD_LETTER
    assert c.store.cps() == []


def test_reservation_ttl_releases_the_cp_and_tells_the_driver():
    c = CentralHarness(ttl=10)
    c.register("CP_001")
    auth = c.authorize("D1")
    c.now += 9
    assert c.sweep(check_heartbeats=False) == []
    assert c.state("CP_001") == "reserved"
    c.now += 2
    released = c.sweep(check_heartbeats=False)
    assert types(released) == ["reservation_released"] and released[0].message.body.reason == "reservation_expired"
    assert c.state("CP_001") == "available"
    late = c.send(ChargingStarted(reservation_id=auth.reservation_id, driver_id="D1", cp_id="CP_001"))
    assert types(late) == ["session_denied"] and c.state("CP_001") == "available"


def test_silent_monitor_disconnects_the_cp_and_stops_its_session():
    """The engine behind a silent monitor may be cut off too: its final reading may never come."""
    c = CentralHarness(heartbeat_timeout=5)
    c.register("CP_001")
    session = c.start("D1")
    c.send(Telemetry(cp_id="CP_001", session_id=session, kw=22, kwh=2.0, eur=0.8))
    c.now += 6
    assert c.sweep(check_heartbeats=False) == []
    assert types(c.sweep()) == ["stop_supply"]
    assert c.state("CP_001") == "disconnected" and c.status(session) == "stopping"
    c.now += 6
    replies = c.sweep()
    assert [(r.message.type, r.message.body.kwh, r.message.body.reason) for r in replies] == [
        ("ticket", 2.0, "cp_disconnected")
    ]
    c.register("CP_001")
    assert c.state("CP_001") == "available"


def test_engine_ko_faults_the_cp_and_a_reservation_is_released():
    c = CentralHarness()
    c.register("CP_001")
    c.authorize("D1")
    replies = c.send(Heartbeat(cp_id="CP_001", engine_ok=False))
    assert types(replies) == ["reservation_released"] and replies[0].message.body.reason == "cp_faulty"
    assert c.state("CP_001") == "fault"


def test_stop_and_resume_all():
    c = CentralHarness()
    c.register("CP_001", "CP_002")
    session = c.start("D1", "CP_001")
    replies = c.send(CpCommand(action="stop", cp_id=None))
    assert {cp.state.value for cp in c.store.cps()} == {"stopped"}
    assert types(replies) == ["stop_supply", "command_result"]  # the ticket waits for the final reading
    assert c.status(session) == "stopping"
    (ticket,) = c.complete("CP_001", session, kwh=3.0, reason="stopped_by_cp_stopped")
    assert (ticket.message.body.kwh, ticket.message.body.reason) == (3.0, "cp_stopped")
    assert c.status(session) == "closed"
    c.send(CpCommand(action="resume"))
    assert {cp.state.value for cp in c.store.cps()} == {"available"}
    assert types(c.send(CpCommand(action="stop", cp_id="CP_404"))) == ["dead_letter"]


def test_driver_stop_and_cancel():
    c = CentralHarness()
    c.register("CP_001", "CP_002")
    session = c.start("D1", "CP_001")
    assert types(c.send(StopRequest(driver_id="D1", session_id=session))) == ["stop_supply"]
    assert types(c.send(StopRequest(driver_id="D2", session_id=session))) == ["dead_letter"]
    auth = c.authorize("D2", "CP_002", request_id="r2")
    assert types(c.send(StopRequest(driver_id="D2", reservation_id=auth.reservation_id))) == ["reservation_released"]
    assert c.state("CP_002") == "available"


def test_cp_list():
    c = CentralHarness()
    c.register("CP_002", "CP_001")
    (reply,) = c.send(CpListRequest(request_id="q", driver_id="D1"))
    assert [cp.cp_id for cp in reply.message.body.cps] == ["CP_001", "CP_002"]


def test_state_survives_a_restart(tmp_path):
    db = tmp_path / "central.db"
    c = CentralHarness(str(db))
    c.register("CP_001")
    session = c.start("D1")
    c.store.close()
    again = CentralHarness(str(db))
    assert again.state("CP_001") == "charging"
    assert "ticket" in types(again.complete("CP_001", session))
    assert Store(db).ticket_count() == 1


def _sent_at(body, timestamp: float):
    """A message whose envelope says it was sent at ``timestamp`` (a monitor's late heartbeat)."""
    message = make(body, "monitor:CP_001")
    envelope = message.envelope.model_copy(update={"timestamp": timestamp})
    return message.model_copy(update={"envelope": envelope})


def test_a_ko_sent_before_the_reservation_does_not_release_it_the_next_one_does():
    """After a broker pause a KO from a blip the engine has recovered from arrives late: it must not
    undo a reservation Central made after it was sent; a KO sent after the reservation still does."""
    c = CentralHarness()
    c.register("CP_001")
    c.now = time.time()
    c.authorize("D1")
    late = c.send_message(_sent_at(Heartbeat(cp_id="CP_001", engine_ok=False), c.now - 2.5))
    assert late == [] and c.state("CP_001") == "reserved"
    fresh = c.send_message(_sent_at(Heartbeat(cp_id="CP_001", engine_ok=False), c.now + 0.5))
    assert types(fresh) == ["reservation_released"] and c.state("CP_001") == "fault"


def test_a_ko_sent_before_the_session_started_does_not_end_it():
    c = CentralHarness()
    c.register("CP_001")
    c.now = time.time()
    c.start("D1", "CP_001")
    late = c.send_message(_sent_at(Heartbeat(cp_id="CP_001", engine_ok=False), c.now - 1.0))
    assert late == [] and c.state("CP_001") == "charging"
    fresh = c.send_message(_sent_at(Heartbeat(cp_id="CP_001", engine_ok=False), c.now + 0.5))
    assert "stop_supply" in types(fresh) and c.state("CP_001") == "fault"
