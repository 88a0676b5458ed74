"""The engine's record of supplied sessions: committed at once (another connection sees it), kept
across reopening, and pruned by age and by count."""

from __future__ import annotations

import sqlite3

from evcharge import wire
from evcharge.cp import supplied
from evcharge.cp.supplied import SuppliedSessions


def test_an_id_is_committed_when_add_returns_and_survives_reopening(tmp_path):
    path = tmp_path / "s.db"
    first = SuppliedSessions(path)
    assert first.add("s1", now=100.0) and not first.add("s1", now=101.0)
    other = sqlite3.connect(path)  # another process's view, while the first is still open
    assert other.execute("SELECT session_id, started_at FROM supplied").fetchall() == [("s1", 100.0)]
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()
    first.close()
    again = SuppliedSessions(path, max_age=float("inf"))
    assert "s1" in again and not again.add("s1")
    again.close()


def test_rows_older_than_the_retention_and_beyond_the_newest_keep_are_pruned(tmp_path):
    store = SuppliedSessions(tmp_path / "s.db", keep=3, max_age=50.0)
    for i in range(6):
        store.add(f"s{i}", now=float(i * 10))
    assert store.prune(now=60.0) == 3  # s0 (older than 50 s), then s1 and s2 (beyond the newest 3)
    assert [f"s{i}" in store for i in range(6)] == [False] * 3 + [True] * 3
    assert store.prune(now=60.0) == 0
    store.close()


def test_pruning_happens_as_ids_are_added_so_the_file_stays_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(supplied, "PRUNE_EVERY", 5)
    store = SuppliedSessions(tmp_path / "s.db", keep=10, max_age=1e9)
    for i in range(100):
        store.add(f"s{i}", now=float(i))
    assert len(store) <= 10 + 5 and "s99" in store and "s0" not in store
    store.close()


def test_by_default_an_id_is_kept_as_long_as_the_wire_accepts_its_start(tmp_path):
    store = SuppliedSessions(tmp_path / "s.db")
    assert (store.keep, store.max_age) == (supplied.KEEP, wire.DEDUP_RETENTION_S)
    store.close()


def test_a_file_from_before_the_meter_columns_gains_them_and_keeps_its_ids(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE supplied (session_id TEXT PRIMARY KEY, started_at REAL NOT NULL);"
                      "INSERT INTO supplied VALUES ('s0', 1.0);")
    old.close()
    store = SuppliedSessions(path, max_age=float("inf"))
    assert "s0" in store and not store.add("s0")
    assert [cut.session_id for cut in store.interrupted()] == ["s0"]
    store.close()


def test_a_completion_is_kept_until_delivered_and_a_finished_supply_is_not_interrupted(tmp_path):
    store = SuppliedSessions(tmp_path / "s.db")
    store.add("s1")
    store.meter("s1", 0.5, 10.0)
    (cut,) = store.interrupted()
    assert (cut.kwh, cut.elapsed_s) == (0.5, 10.0)
    store.finish(supplied.StoredCompletion("s1", "m1", b"CP_001", b"record"), 0.6, 12.0)
    assert store.interrupted() == []
    assert store.undelivered() == [supplied.StoredCompletion("s1", "m1", b"CP_001", b"record")]
    store.delivered("s1")
    assert store.undelivered() == []
    store.close()


def test_a_reading_is_written_without_an_fsync_and_the_rest_with_one(tmp_path):
    store = SuppliedSessions(tmp_path / "s.db")
    store.add("s1")
    store.meter("s1", 0.5, 10.0)
    assert store.conn.execute("PRAGMA synchronous").fetchone() == (2,), "FULL again after a reading"
    other = sqlite3.connect(tmp_path / "s.db")
    assert other.execute("SELECT kwh FROM supplied").fetchall() == [(0.5,)], "committed, seen by another reader"
    other.close()
    store.close()
