"""Bounded states and bounded tables: a session whose engine falls silent is stopped and billed; the
CP list reply stays small however many CPs registered; finished history is pruned, tickets kept."""

from __future__ import annotations

from evcharge.central.effects import CP_LIST_LIMIT, CentralConfig
from evcharge.central.handlers import TELEMETRY_TIMEOUT_REASON
from evcharge.central.processor import Processor
from evcharge.central.store import Store
from evcharge.kafka import MAX_REQUEST_SIZE
from evcharge.messages import CpList, CpListRequest, Heartbeat, Telemetry, encode
from evcharge.states import CpState

from .helpers import CentralHarness, types

TIMEOUT = 30.0


def charging(telemetry_timeout: float = TIMEOUT) -> tuple[CentralHarness, str]:
    c = CentralHarness()
    c.processor = Processor(c.store, CentralConfig(0.4, 10.0, 5.0, telemetry_timeout=telemetry_timeout))
    c.register("CP_001")
    return c, c.start("D1", "CP_001")


def live_monitor(c: CentralHarness, seconds: float, telemetry: str | None = None, kwh: float = 0.0) -> list[str]:
    """``seconds`` of a healthy monitor (a heartbeat and a sweep every second), with telemetry of
    session ``telemetry`` if given; returns the types of everything the sweeps sent."""
    sent = []
    for _ in range(int(seconds)):
        c.now += 1.0
        c.send(Heartbeat(cp_id="CP_001", engine_ok=True))
        if telemetry is not None:
            kwh += 0.01
            c.send(Telemetry(cp_id="CP_001", session_id=telemetry, kw=22, kwh=kwh, eur=0.0))
        sent += types(c.sweep())
    return sent


def test_a_session_without_telemetry_is_stopped_and_billed_what_was_metered_once_the_engine_is_silent():
    """The stop goes out at the timeout; with no final reading either, the stop grace bills the last."""
    c, session = charging()
    c.send(Telemetry(cp_id="CP_001", session_id=session, kw=22, kwh=1.25, eur=0.5))
    assert live_monitor(c, TIMEOUT - 1) == []  # not yet
    c.now += 1.5
    c.send(Heartbeat(cp_id="CP_001", engine_ok=True))
    (stop,) = c.sweep()
    assert stop.message.type == "stop_supply" and stop.key == "CP_001"
    assert stop.message.body.reason == TELEMETRY_TIMEOUT_REASON  # type: ignore[attr-defined]
    assert c.state("CP_001") == CpState.AVAILABLE and c.store.active_session_for_cp("CP_001") is None
    assert c.status(session) == "stopping" and c.store.ticket_count(session) == 0
    assert live_monitor(c, 5) == []  # the stop grace: the engine may still answer
    c.now += 1
    c.send(Heartbeat(cp_id="CP_001", engine_ok=True))
    (reply,) = c.sweep()
    ticket = reply.message.body
    assert reply.message.type == "ticket" and reply.key == "D1"
    assert ticket.reason == TELEMETRY_TIMEOUT_REASON  # type: ignore[attr-defined]
    assert ticket.kwh == 1.25 and ticket.session_id == session  # type: ignore[attr-defined]
    assert ticket.duration_s == TIMEOUT + 0.5  # type: ignore[attr-defined]  # until the stop, not the grace
    assert c.store.ticket_count(session) == 1 and c.status(session) == "closed"


def test_telemetry_keeps_a_long_session_open_and_a_late_completion_bills_the_engines_reading():
    c, session = charging(telemetry_timeout=5.0)
    assert live_monitor(c, 20, telemetry=session) == []
    assert c.state("CP_001") == CpState.CHARGING
    assert live_monitor(c, 6) == ["stop_supply"]
    (ticket,) = c.complete("CP_001", session, kwh=9.0, reason="stopped_by_telemetry_timeout")
    assert ticket.message.type == "ticket" and ticket.message.body.kwh == 9.0  # type: ignore[attr-defined]
    assert ticket.message.body.reason == TELEMETRY_TIMEOUT_REASON  # type: ignore[attr-defined]
    assert c.state("CP_001") == CpState.AVAILABLE
    assert live_monitor(c, 10) == [] and c.store.ticket_count(session) == 1


def test_a_session_that_never_sent_telemetry_times_out_from_its_start():
    c, session = charging(telemetry_timeout=5.0)
    assert live_monitor(c, 6) == ["stop_supply"]
    assert live_monitor(c, 6) == ["ticket"]
    assert c.store.session(session).kwh == 0.0  # type: ignore[union-attr]


def test_central_judges_no_session_before_it_knows_what_it_heard():
    """After a restart (or while cut off) Central has not heard its own tick: nothing is closed."""
    c, _session = charging(telemetry_timeout=5.0)
    c.now += 60
    assert c.sweep_heard(None) == []
    assert c.state("CP_001") == CpState.CHARGING
    assert c.sweep_heard(c.now - 58) == []  # heard up to 2 s after the start only: not silent yet


def test_after_a_gap_in_centrals_hearing_a_session_gets_a_whole_timeout_again():
    """Kafka was away for a minute: the engine's queued telemetry may land just after Central's tick."""
    c, session = charging()
    c.now += 60
    c.send(Heartbeat(cp_id="CP_001", engine_ok=True))
    with c.store.transaction():
        handlers = c.processor.handlers
        assert handlers.sweep(c.now, c.now, heard_since=c.now - 1) == []  # hearing again for 1 s only
        assert handlers.sweep(c.now, c.now, heard_since=c.now - TIMEOUT + 1) == []
        assert types(handlers.sweep(c.now, c.now, heard_since=c.now - TIMEOUT - 1)) == ["stop_supply"]
    assert c.status(session) == "stopping"


def test_a_silent_monitor_disconnects_the_cp_first_with_that_reason():
    c, _session = charging(telemetry_timeout=5.0)
    c.now += 60
    (stop,) = c.sweep()
    assert stop.message.type == "stop_supply"
    assert stop.message.body.reason == "cp_disconnected"  # type: ignore[attr-defined]
    c.now += 6
    (ticket,) = c.sweep()
    assert ticket.message.body.reason == "cp_disconnected"  # type: ignore[attr-defined]


def cp_list(c: CentralHarness) -> CpList:
    (reply,) = c.send(CpListRequest(request_id="q", driver_id="D1"))
    body = reply.message.body
    assert isinstance(body, CpList)
    return body


def test_the_cp_list_is_bounded_available_cps_first_in_cp_id_order():
    c = CentralHarness()
    with c.store.transaction():
        for n in range(CP_LIST_LIMIT + 500):
            state = CpState.AVAILABLE if n % 5 == 0 else CpState.FAULT
            c.store.register_cp(f"CP_{n:061d}", state, True, 0.0)
    listed = cp_list(c)
    ids = [cp.cp_id for cp in listed.cps]
    assert len(ids) == CP_LIST_LIMIT and ids == sorted(ids)
    assert sum(cp.state == "available" for cp in listed.cps) == (CP_LIST_LIMIT + 500) // 5  # every available one
    if "total" in CpList.model_fields:
        assert listed.total == CP_LIST_LIMIT + 500  # type: ignore[attr-defined]
    (reply,) = c.send(CpListRequest(request_id="q2", driver_id="D1"))
    assert len(encode(reply.message)) < MAX_REQUEST_SIZE / 5  # far below the producer's limit


def test_a_small_cp_list_is_the_whole_table_in_cp_id_order_as_before():
    c = CentralHarness()
    c.register("CP_003", "CP_001")
    c.register("CP_002", ok=False)
    assert [(cp.cp_id, cp.state) for cp in cp_list(c).cps] == [
        ("CP_001", "available"),
        ("CP_002", "fault"),
        ("CP_003", "available"),
    ]


def test_finished_reservations_and_closed_sessions_are_pruned_tickets_kept(tmp_path):
    c = CentralHarness(str(tmp_path / "c.db"))
    c.register("CP_001", "CP_002")
    old = c.start("D1", "CP_001")
    c.complete("CP_001", old)
    c.authorize("D2", "CP_001", request_id="r2")
    c.now += 20
    c.sweep(check_heartbeats=False)  # D2's reservation expires: released
    live = c.start("D3", "CP_002")  # used reservation, active session: both kept
    c.now += 24 * 3600
    with c.store.transaction():
        assert c.store.prune_history(c.now - 3600) == 3  # D1's reservation and session, D2's reservation
        assert c.store.prune_history(c.now - 3600) == 0
    assert c.store.session(old) is None and c.store.ticket_count(old) == 1
    active = c.store.session(live)
    assert active is not None and c.store.reservation(active.reservation_id) is not None
    other = Store(tmp_path / "c.db")  # what a restart sees
    assert other.ticket_count() == 1
    other.close()
