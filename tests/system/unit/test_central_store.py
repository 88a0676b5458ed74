"""Central's SQL: every statement it runs is served by an index on the tables that grow with traffic,
the dedup record is one statement, and pruning is bounded and oldest-first."""

from __future__ import annotations

import re
import sqlite3

from evcharge.central.store import Reservation, Session, Store
from evcharge.messages import ChargingStarted, CpCommand, CpListRequest, Heartbeat, StopRequest, Telemetry

from .helpers import CentralHarness

GROWING = ("reservations", "sessions", "tickets", "processed", "drivers")
"""Tables with a row per request, session or message; ``cps`` (one row per CP) and ``outbox`` (the
replies not yet acknowledged, read whole and in order on purpose) are bounded."""


def scanned(sql: str, plan: list[str]) -> set[str]:
    """The tables ``plan`` scans, by table name: SQLite names an aliased table by its alias only
    (``SCAN s``), so a scan in a correlated subquery would otherwise go unnoticed."""
    aliases = {alias: table for table, alias in re.findall(r"\b(?:FROM|JOIN)\s+(\w+)\s+(?:AS\s+)?(\w+)", sql, re.I)}
    names = {m.group(1) for step in plan if (m := re.match(r"SCAN (\w+)", step))}
    return {aliases.get(name, name) for name in names}


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
    c.send(Heartbeat(cp_id="CP_002", engine_ok=False))  # a CP in use faults: its session is stopping
    c.send(Heartbeat(cp_id="CP_002", engine_ok=True))  # available again, but not offered yet
    c.authorize("D7", "CP_002", request_id="r7")  # denied: a stopping session holds it
    c.authorize("D2", request_id="r2b")  # denied: the driver's stopped session has no ticket yet
    c.send(Telemetry(cp_id="CP_002", session_id=session, kw=22, kwh=0.5, eur=0.2))  # while stopping
    c.complete("CP_002", session)  # the engine's final reading closes it
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
    c.sweep_heard(c.now)  # a session silent for a minute: stopped by the telemetry timeout
    c.now += 10
    c.send(Heartbeat(cp_id="CP_004", engine_ok=True))
    c.sweep_heard(c.now)  # and no final reading: billed by the stop grace
    with c.store.transaction():
        c.store.prune_processed(c.now)
        c.store.prune_history(c.now)
    c.store.conn.set_trace_callback(None)

    found = plans(c.store, statements)
    assert any("FROM processed" in sql for sql in found) and any("active'" in sql for sql in found)
    assert any("last_telemetry <" in sql for sql in found) and any("DELETE FROM sessions" in sql for sql in found)
    assert any("stop_requested_at <" in sql for sql in found) and any("SET status='stopping'" in sql for sql in found)
    assert any(re.search(r"WHERE cp_id='\w+' AND status='stopping'", sql) for sql in found)  # an explicit request
    assert any("s.cp_id=c.cp_id AND s.status='stopping'" in sql for sql in found)  # any CP
    assert c.store.ticket_count(session) == 1
    assert {sql: plan for sql, plan in found.items() if scanned(sql, plan) & set(GROWING)} == {}


def test_the_plan_check_sees_a_scan_of_an_aliased_table():
    store = Store()
    sql = "SELECT cp_id FROM cps c WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.kwh=c.cp_id)"
    assert scanned(sql, plans(store, {sql})[sql]) == {"cps", "sessions"}


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


def test_a_database_of_the_central_before_stopping_sessions_gets_the_stop_columns(tmp_path):
    """A file of the previous Central (``last_telemetry``, no stop columns) opens, keeps its rows, and
    can stop a session: the columns and the stop-grace index are added in place, once."""
    db = tmp_path / "old.db"
    old = sqlite3.connect(db)
    old.execute(
        "CREATE TABLE sessions (session_id TEXT PRIMARY KEY, reservation_id TEXT NOT NULL UNIQUE,"
        " driver_id TEXT NOT NULL, cp_id TEXT NOT NULL, price_eur_kwh REAL NOT NULL, started_at REAL NOT NULL,"
        " ended_at REAL, kwh REAL NOT NULL DEFAULT 0, status TEXT NOT NULL, last_telemetry REAL)"
    )
    old.execute("INSERT INTO sessions VALUES ('S1', 'R1', 'D1', 'CP_001', 0.4, 100.0, NULL, 2.0, 'active', 101.0)")
    old.execute("INSERT INTO sessions VALUES ('S0', 'R0', 'D0', 'CP_001', 0.4, 50.0, 60.0, 1.0, 'closed', 59.0)")
    old.commit()
    old.close()
    store = Store(db)
    columns = {row[1] for row in store.conn.execute("PRAGMA table_info(sessions)")}
    assert {"stop_reason", "stop_requested_at"} <= columns
    indexes = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "sessions_stopping" in indexes
    assert store.session("S1") == Session("S1", "R1", "D1", "CP_001", 0.4, 100.0, 2.0, "active")
    assert store.session("S0").status == "closed" and store.session("S0").stop_reason is None
    with store.transaction():
        assert store.driver_busy("D1") and store.stopping_sessions(10**6) == []
        store.request_stop("S1", "cp_stopped", 102.0)
        assert [(s.session_id, s.stop_reason, s.stop_requested_at) for s in store.stopping_sessions(103.0)] == [
            ("S1", "cp_stopped", 102.0)
        ]
        assert store.driver_busy("D1") and store.active_session_for_cp("CP_001") is None
    store.close()
    again = Store(db)  # a second start on the upgraded file changes nothing
    assert again.stopping_session_for_cp("CP_001").stop_reason == "cp_stopped"
    again.close()


def test_a_reservation_records_when_it_stopped_being_active_whichever_way(tmp_path):
    """Used (its charge started), cancelled, expired, or ended by its CP: ``ended_at`` is the ``now``
    of that step, once; while active it is NULL. Read back from the file, as the harness reads it."""
    c = CentralHarness(str(tmp_path / "c.db"), ttl=5.0)
    c.register("CP_001", "CP_002", "CP_003", "CP_004")
    used = c.authorize("D1", "CP_001", request_id="r1")
    cancelled = c.authorize("D2", "CP_002", request_id="r2")
    expired = c.authorize("D3", "CP_003", request_id="r3")
    faulted = c.authorize("D4", "CP_004", request_id="r4")
    assert c.store.reservation(used.reservation_id).ended_at is None
    c.now += 1
    c.send(ChargingStarted(reservation_id=used.reservation_id, driver_id="D1", cp_id="CP_001"))
    c.now += 1
    c.send(StopRequest(driver_id="D2", reservation_id=cancelled.reservation_id))
    c.now += 1
    c.send(Heartbeat(cp_id="CP_004", engine_ok=False))
    c.now += 10
    c.sweep(check_heartbeats=False)
    with c.store.transaction():
        c.store.set_reservation_status(cancelled.reservation_id, "released", c.now)  # again: the end stays
    other = sqlite3.connect(tmp_path / "c.db")
    rows = other.execute("SELECT driver_id, status, ended_at FROM reservations").fetchall()
    other.close()
    assert sorted(rows) == [
        ("D1", "used", 1001.0),
        ("D2", "released", 1002.0),
        ("D3", "released", 1013.0),
        ("D4", "released", 1003.0),
    ]
    assert c.store.reservation(expired.reservation_id).ended_at == 1013.0
    assert c.store.reservation(faulted.reservation_id).status == "released"


def test_reservations_of_an_earlier_central_get_an_end_active_ones_none(tmp_path):
    """Upgraded in place: a finished reservation ends at its ``expires_at`` (its real end was never
    recorded), an active one has none yet and gets one when it ends."""
    db = tmp_path / "old.db"
    old = sqlite3.connect(db)
    old.execute(
        "CREATE TABLE reservations (reservation_id TEXT PRIMARY KEY, request_id TEXT NOT NULL,"
        " driver_id TEXT NOT NULL, cp_id TEXT NOT NULL, duration_s REAL, created_at REAL NOT NULL,"
        " expires_at REAL NOT NULL, status TEXT NOT NULL)"
    )
    old.execute("INSERT INTO reservations VALUES ('R1', 'q1', 'D1', 'CP_001', NULL, 100.0, 110.0, 'used')")
    old.execute("INSERT INTO reservations VALUES ('R2', 'q2', 'D2', 'CP_002', NULL, 200.0, 210.0, 'active')")
    old.commit()
    old.close()
    store = Store(db)
    assert store.reservation("R1") == Reservation("R1", "q1", "D1", "CP_001", None, 100.0, 110.0, "used", 110.0)
    assert store.reservation("R2").ended_at is None
    assert store.active_reservation_for_cp("CP_002").reservation_id == "R2"
    with store.transaction():
        store.set_reservation_status("R2", "released", 205.0)
    assert store.reservation("R2").ended_at == 205.0
    store.close()
    again = Store(db)  # a second start on the upgraded file changes nothing
    assert again.reservation("R1").ended_at == 110.0 and again.reservation("R2").ended_at == 205.0
    again.close()
