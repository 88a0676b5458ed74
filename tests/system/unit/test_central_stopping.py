"""Sessions Central ends itself wait in ``stopping`` for the engine's final reading, so the ticket
bills every kWh supplied up to the stop (the energy after Central's last telemetry used to go
unbilled), and the stop grace bills the last reading when that reading never comes."""

from __future__ import annotations

from evcharge.central.handlers import Outgoing
from evcharge.messages import ChargingStarted, CpCommand, Heartbeat, StopRequest, Telemetry, Ticket, Topics
from evcharge.pricing import cost_eur

from .helpers import CentralHarness, types


def charging(**options: float) -> tuple[CentralHarness, str]:
    c = CentralHarness(**options)  # type: ignore[arg-type]
    c.register("CP_001", "CP_002")
    session = c.start("D1", "CP_001")
    c.send(Telemetry(cp_id="CP_001", session_id=session, kw=22, kwh=2.0, eur=0.8))
    return c, session


def ticket_of(replies: list[Outgoing]) -> Ticket:
    (ticket,) = [r.message.body for r in replies if isinstance(r.message.body, Ticket)]
    return ticket


def billed(c: CentralHarness, session: str) -> list[tuple[float, str]]:
    """What the billing record says, read from the tickets table."""
    rows = c.store.conn.execute("SELECT kwh, reason FROM tickets WHERE session_id=?", (session,))
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_completion_after_centrals_stop_bills_the_engines_reading_with_centrals_reason():
    c, session = charging()
    c.now += 1
    replies = c.send(Heartbeat(cp_id="CP_001", engine_ok=False))
    assert types(replies) == ["stop_supply"] and replies[0].message.body.reason == "cp_faulty"
    assert c.state("CP_001") == "fault" and c.status(session) == "stopping"
    c.now += 0.05
    ticket = ticket_of(c.complete("CP_001", session, kwh=2.0014, reason="stopped_by_cp_faulty"))
    assert (ticket.kwh, ticket.reason, ticket.duration_s, ticket.driver_id) == (2.0014, "cp_faulty", 60, "D1")
    assert ticket.price_eur == cost_eur(2.0014, 0.4)
    assert c.status(session) == "closed" and billed(c, session) == [(2.0014, "cp_faulty")]
    assert c.state("CP_001") == "fault"  # the CP's state is its health's, not the session's


def test_an_engine_reading_below_centrals_last_one_never_lowers_the_bill():
    c, session = charging()
    c.send(CpCommand(action="stop", cp_id="CP_001"))
    ticket = ticket_of(c.complete("CP_001", session, kwh=1.5, reason="stopped_by_cp_stopped"))
    assert (ticket.kwh, ticket.reason) == (2.0, "cp_stopped")


def test_telemetry_while_stopping_is_relayed_and_raises_the_bill():
    c, session = charging()
    c.send(CpCommand(action="stop", cp_id="CP_001"))
    (relay,) = c.send(Telemetry(cp_id="CP_001", session_id=session, kw=22, kwh=2.2, eur=0.88))
    assert relay.topic == Topics.driver_events("D1") and relay.message.body.driver_id == "D1"
    c.send(Telemetry(cp_id="CP_001", session_id=session, kw=22, kwh=2.1, eur=0.84))  # redelivered, older
    assert c.store.session(session).kwh == 2.2  # type: ignore[union-attr]
    c.now += 6
    assert ticket_of(c.sweep_heard(c.now)).kwh == 2.2  # the grace bills the latest reading


def test_with_no_final_reading_the_grace_sweep_bills_the_last_reading_with_the_stop_reason():
    c, session = charging(stop_grace=5.0)
    c.now += 6
    c.send(Heartbeat(cp_id="CP_002", engine_ok=True))
    assert types(c.sweep()) == ["stop_supply"]  # CP_001's monitor is silent: disconnected
    stopped_at = c.now
    c.now = stopped_at + 4.9
    assert c.sweep() == []
    c.now = stopped_at + 5.1
    ticket = ticket_of(c.sweep())
    assert (ticket.kwh, ticket.reason, ticket.duration_s) == (2.0, "cp_disconnected", 6.0)
    assert c.status(session) == "closed" and c.sweep() == []


def test_a_higher_reading_after_the_grace_billed_the_session_amends_its_ticket_once():
    """The engine was away when the grace ran out (its last reading billed), then a restarted engine
    sent what its meter kept: the same ticket, raised to that reading, sent again; nothing else."""
    c, session = charging()
    c.send(CpCommand(action="stop", cp_id="CP_001"))
    c.now += 6
    first = ticket_of(c.sweep_heard(c.now))
    assert first.kwh == 2.0
    amended = ticket_of(c.complete("CP_001", session, kwh=2.5, reason="engine_restarted"))
    assert (amended.ticket_id, amended.kwh, amended.reason) == (first.ticket_id, 2.5, "cp_stopped")
    assert amended.price_eur == cost_eur(2.5, 0.4) and amended.duration_s == first.duration_s
    assert billed(c, session) == [(2.5, "cp_stopped")] and c.store.session(session).kwh == 2.5  # type: ignore[union-attr]
    assert c.complete("CP_001", session, kwh=2.5) == []  # the same reading again: nothing
    assert c.complete("CP_001", session, kwh=2.1) == []  # a lower one: readings only grow
    assert billed(c, session) == [(2.5, "cp_stopped")] and c.store.ticket_count(session) == 1


def test_a_completion_after_the_session_closed_with_it_changes_nothing():
    c2, other = charging()
    c2.send(CpCommand(action="stop", cp_id="CP_001"))
    assert types(c2.complete("CP_001", other, kwh=2.3)) == ["ticket"]
    assert c2.complete("CP_001", other, kwh=2.3) == []  # the same completion again (a new message id)
    c2.now += 60
    assert c2.sweep_heard(c2.now) == [] and billed(c2, other) == [(2.3, "cp_stopped")]


def test_a_stopping_sessions_cp_is_offered_to_nobody_and_its_driver_is_busy():
    """The CP is available again (its fault cleared at once) while its engine may still supply."""
    c, session = charging()
    c.send(Heartbeat(cp_id="CP_001", engine_ok=False))
    c.send(Heartbeat(cp_id="CP_001", engine_ok=True))
    assert c.state("CP_001") == "available" and c.status(session) == "stopping"
    assert c.authorize("D2", "CP_001", request_id="r2").reason == "cp_busy"
    assert c.authorize("D1", request_id="r1b").reason == "driver_already_charging"
    assert c.store.driver_busy("D1") and c.store.first_available_cp() == "CP_002"
    assert c.authorize("D2", request_id="r3").cp_id == "CP_002"  # any CP: not CP_001, first by id
    assert c.authorize("D3", request_id="r4").reason == "no_cp_available"
    c.complete("CP_001", session, kwh=2.1, reason="stopped_by_cp_faulty")
    assert not c.store.driver_busy("D1")
    assert c.authorize("D3", request_id="r5").cp_id == "CP_001"


def test_a_drivers_stop_or_retried_start_of_a_stopping_session_sends_no_new_stop():
    c, session = charging()
    c.send(CpCommand(action="stop", cp_id="CP_001"))
    assert c.send(StopRequest(driver_id="D1", session_id=session)) == []  # Central's stop is on its way
    reservation = c.store.session(session).reservation_id  # type: ignore[union-attr]
    again = c.send(ChargingStarted(reservation_id=reservation, driver_id="D1", cp_id="CP_001"))
    assert types(again) == ["session_started"] and again[0].message.body.session_id == session
    assert c.status(session) == "stopping"


def test_history_pruning_keeps_a_stopping_session_and_its_reservation():
    c, session = charging()
    c.send(CpCommand(action="stop", cp_id="CP_001"))
    reservation = c.store.session(session).reservation_id  # type: ignore[union-attr]
    with c.store.transaction():
        c.store.prune_history(c.now + 10**6)
    assert c.store.reservation(reservation) is not None and c.status(session) == "stopping"
    c.complete("CP_001", session)
    with c.store.transaction():
        c.store.prune_history(c.now + 10**6)
    assert c.store.reservation(reservation) is None and c.store.session(session) is None


def test_the_stop_grace_counts_only_while_central_hears():
    """After a restart or an outage the completion (or the stop itself) may still wait in Kafka."""
    c, session = charging()
    c.send(CpCommand(action="stop", cp_id="CP_001"))
    c.now += 60
    handlers = c.processor.handlers
    with c.store.transaction():
        assert handlers.sweep(c.now, None) == []  # not known what Central heard: nothing judged
        assert handlers.sweep(c.now, c.now - 56) == []  # heard up to 4 s after the stop only
        assert handlers.sweep(c.now, c.now, heard_since=c.now - 1) == []  # hearing again for 1 s only
        assert types(handlers.sweep(c.now, c.now, heard_since=c.now - 6)) == ["ticket"]
    assert c.status(session) == "closed"
