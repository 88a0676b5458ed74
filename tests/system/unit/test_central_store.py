"""Central's SQL: every statement it runs is served by an index on the tables that grow with traffic,
the dedup record is one statement, and pruning is bounded and oldest-first."""

from __future__ import annotations

import re

from evcharge.central.store import Reservation, Store
from evcharge.messages import CpCommand, CpListRequest, Heartbeat, StopRequest, Telemetry

from .helpers import CentralHarness

GROWING = ("reservations", "sessions", "tickets", "processed", "drivers")
"""Tables with a row per request, session or message; ``cps`` (one row per CP) and ``outbox`` (the
replies not yet acknowledged, read whole and in order on purpose) are bounded."""


def plans(store: Store, statements: set[str]) -> dict[str, list[str]]:
    """EXPLAIN QUERY PLAN of each statement, with NULL for every parameter."""
    out = {}
    for sql in statements:
        if not re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT)", sql, re.I):
            continue  # BEGIN, COMMIT, SAVEPOINT...
        params = [None] * sql.count("?")
        out[sql] = [row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    return out


def test_no_statement_of_a_busy_day_scans_a_growing_table():
    c = CentralHarness(ttl=5.0)
    statements: set[str] = set()
    c.store.conn.set_trace_callback(statements.add)
    c.register("CP_001", "CP_002", "CP_003")
    session = c.start("D1", "CP_001")
    c.send(Telemetry(cp_id="CP_001", session_id=session, kw=22, kwh=1.0, eur=0.4))
    c.complete("CP_001", session)
    session = c.start("D2", "CP_002")
    c.send(StopRequest(driver_id="D2", session_id=session))
    c.send(Heartbeat(cp_id="CP_002", engine_ok=False))  # a CP in use faults: its session is closed
    auth = c.authorize("D3", request_id="r3")
    c.send(StopRequest(driver_id="D3", reservation_id=auth.reservation_id))
    c.authorize("D4", "CP_001", request_id="r4")
    c.send(CpCommand(action="stop"))  # ends D4's reservation via the CP
    c.send(CpCommand(action="resume"))
    c.send(CpListRequest(request_id="q", driver_id="D1"))
    c.authorize("D5", request_id="r5")
    c.now += 60
    c.sweep()  # an expired reservation, silent monitors
    c.register("CP_004")
    session = c.start("D6", "CP_004")
    c.now += 60
    c.send(Heartbeat(cp_id="CP_004", engine_ok=True))
    c.sweep_heard(c.now)  # a session silent for a minute: closed by the telemetry timeout
    with c.store.transaction():
        c.store.prune_processed(c.now)
        c.store.prune_history(c.now)
    c.store.conn.set_trace_callback(None)

    found = plans(c.store, statements)
    assert any("FROM processed" in sql for sql in found) and any("active'" in sql for sql in found)
    assert any("last_telemetry <" in sql for sql in found) and any("DELETE FROM sessions" in sql for sql in found)
    assert c.store.ticket_count(session) == 1
    scan = re.compile(rf"SCAN ({'|'.join(GROWING)})\b")
    assert {sql: plan for sql, plan in found.items() if any(scan.match(p) for p in plan)} == {}


def test_finding_a_cps_active_reservation_stays_indexed_among_many_old_ones():
    store = Store()
    with store.transaction():
        for i in range(3000):
            store.add_reservation(Reservation(f"R{i}", "q", f"D{i}", f"CP_{i % 50:03d}", None, i, i + 10, "released"))
        store.add_reservation(Reservation("live", "q", "D", "CP_007", None, 1.0, 11.0, "active"))
    store.conn.execute("ANALYZE")  # with statistics too, the planner keeps the partial index
    (plan,) = plans(store, {"SELECT * FROM reservations WHERE cp_id=? AND status='active'"}).values()
    assert plan == ["SEARCH reservations USING INDEX reservations_cp_active (cp_id=?)"]
    found = store.active_reservation_for_cp("CP_007")
    assert found is not None and found.reservation_id == "live"
    assert store.active_reservation_for_cp("CP_008") is None


def test_mark_processed_says_whether_the_id_is_new():
    store = Store()
    with store.transaction():
        assert store.mark_processed("m1", 1.0)
        assert not store.mark_processed("m1", 2.0)
        assert store.already_processed("m1")


def test_prune_forgets_the_oldest_ids_first_and_at_most_limit_at_a_time():
    store = Store()
    with store.transaction():
        for i in range(10):
            store.mark_processed(f"m{i}", float(i))
        assert store.prune_processed(older_than=7.0, limit=4) == 4
        assert [store.already_processed(f"m{i}") for i in range(10)] == [False] * 4 + [True] * 6
        assert store.prune_processed(older_than=7.0, limit=4) == 3
        assert store.prune_processed(older_than=7.0, limit=4) == 0
        assert [store.already_processed(f"m{i}") for i in range(10)] == [False] * 7 + [True] * 3


def test_a_database_of_an_earlier_central_is_upgraded_in_place(tmp_path):
    """Sessions written before ``last_telemetry`` existed count as last heard of at their start."""
    import sqlite3

    db = tmp_path / "old.db"
    old = sqlite3.connect(db)
    old.execute(
        "CREATE TABLE sessions (session_id TEXT PRIMARY KEY, reservation_id TEXT NOT NULL UNIQUE,"
        " driver_id TEXT NOT NULL, cp_id TEXT NOT NULL, price_eur_kwh REAL NOT NULL, started_at REAL NOT NULL,"
        " ended_at REAL, kwh REAL NOT NULL DEFAULT 0, status TEXT NOT NULL)"
    )
    old.execute("INSERT INTO sessions VALUES ('S1', 'R1', 'D1', 'CP_001', 0.4, 100.0, NULL, 2.0, 'active')")
    old.commit()
    old.close()
    store = Store(db)
    with store.transaction():
        assert [s.session_id for s in store.silent_sessions(100.5)] == ["S1"]
        assert store.silent_sessions(99.5) == []
    store.close()
