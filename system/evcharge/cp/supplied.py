"""The sessions an engine has supplied and what it metered, kept in a small SQLite file so a restart
remembers them.

Why: the engine ignores a ``start_supply`` for a session it already supplied (a redelivered
command). In memory alone that only holds while the process lives: an engine restarted with its
consumer offsets rewound, or killed before it committed them, reads the start again and supplied
the session a second time -- energy delivered outside any session, since Central had closed it
long before. With ``--state PATH`` (env ``EVCHARGE_CP_STATE``) the ids live in this file instead.

Each id is committed *before* the engine supplies (``synchronous=FULL``: an fsync per charge is
nothing at one row per charge, and it survives a power cut too), so a crash can at worst lose a
charge that was accepted but never supplied -- Central then ends the session (the monitor reports
the engine down, or the telemetry timeout fires) and bills what was metered -- never supply one
twice.

The same row is the engine's meter record, for the same reason: the engine's send queue is in
memory, and an engine killed with its telemetry and completion still queued (its link to Kafka down
or slow) took the energy it had delivered with it -- Central billed 0 kWh for a charge the car got.
So the meter writes each reading into the row (``meter``), and the completion's record is stored, as
sent, before it is queued (``finish``), until Kafka acknowledged it (``delivered``). A restarted engine
sends again every stored completion not acknowledged (``undelivered``: same record, same message id,
so Central counts it once) and reports a supply that the crash interrupted (``interrupted``) with its
last reading, so the session is billed what the car got, not what happened to reach Kafka.

The table stays small: rows older than ``max_age`` (by default ``wire.DEDUP_RETENTION_S``, past
which the wire refuses the start as too old anyway) and all but the newest ``keep`` are pruned, at
open and every ``PRUNE_EVERY`` additions.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from evcharge.inbox import RecentIds
from evcharge.wire import DEDUP_RETENTION_S

SCHEMA = """
CREATE TABLE IF NOT EXISTS supplied (session_id TEXT PRIMARY KEY, started_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS supplied_started ON supplied(started_at);
"""
METER_COLUMNS = {
    "kwh": "REAL NOT NULL DEFAULT 0",  # the last reading metered
    "elapsed_s": "REAL NOT NULL DEFAULT 0",  # seconds supplied up to that reading
    "final_id": "TEXT",  # the completion's message id (NULL: the supply never finished)
    "final_key": "BLOB",
    "final_record": "BLOB",  # the completion as sent (sealed): sent again as it was
    "delivered": "INTEGER NOT NULL DEFAULT 0",  # Kafka acknowledged the completion
}
"""Added to a file made before the engine kept its meter here (``ALTER TABLE``, once)."""


@dataclass(frozen=True)
class StoredCompletion:
    """A completion kept until Kafka acknowledges it: enough to send the very same record again."""

    session_id: str
    message_id: str
    key: bytes | None
    record: bytes


@dataclass(frozen=True)
class Interrupted:
    """A supply that never finished (the engine died during it), with its last reading."""

    session_id: str
    kwh: float
    elapsed_s: float

KEEP = 10_000
"""Newest rows kept: ten thousand charges, far more than one CP sees between two restarts."""
PRUNE_EVERY = 100
"""Additions between prunes: the table may exceed ``KEEP`` by this much, never more."""


class SuppliedSessions:
    """A persistent set of session ids with ``RecentIds``' interface (``add`` says if it was new)."""

    def __init__(self, path: str | Path, keep: int = KEEP, max_age: float = DEDUP_RETENTION_S) -> None:
        self.path = str(path)
        self.keep = keep
        self.max_age = max_age
        self._lock = threading.Lock()
        self._added = 0
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.conn.executescript(SCHEMA)
        have = {row[1] for row in self.conn.execute("PRAGMA table_info(supplied)")}
        for column, declaration in METER_COLUMNS.items():
            if column not in have:
                self.conn.execute(f"ALTER TABLE supplied ADD COLUMN {column} {declaration}")
        self.prune(time.time())

    def add(self, session_id: str, now: float | None = None) -> bool:
        """Record ``session_id`` as supplied (committed when this returns); False if it already was."""
        now = time.time() if now is None else now
        with self._lock:
            new = self.conn.execute("INSERT OR IGNORE INTO supplied (session_id, started_at) VALUES (?, ?)",
                                    (session_id, now)).rowcount == 1
            self._added += new
            if self._added >= PRUNE_EVERY:
                self._added = 0
                self._prune(now)
        return new

    def meter(self, session_id: str, kwh: float, elapsed_s: float) -> None:
        """Record the supply's reading so far (committed when this returns).

        Without an fsync (``synchronous=NORMAL`` for this one write): a reading must outlive the
        engine's process, which the WAL already gives, not a power cut; an fsync per telemetry tick
        per CP is what a loaded disk cannot spare (a broker's metadata log waited seconds on one).
        The start and the completion keep their fsync."""
        with self._lock:
            self.conn.execute("PRAGMA synchronous=NORMAL")
            try:
                self.conn.execute("UPDATE supplied SET kwh=?, elapsed_s=? WHERE session_id=?",
                                  (kwh, elapsed_s, session_id))
            finally:
                self.conn.execute("PRAGMA synchronous=FULL")

    def finish(self, completion: StoredCompletion, kwh: float, elapsed_s: float) -> None:
        """Keep the supply's completion, as it will be sent, with its final reading: from now on a
        restart sends this record again until ``delivered`` is called."""
        with self._lock:
            self.conn.execute(
                "UPDATE supplied SET kwh=?, elapsed_s=?, final_id=?, final_key=?, final_record=?, delivered=0"
                " WHERE session_id=?",
                (kwh, elapsed_s, completion.message_id, completion.key, completion.record, completion.session_id))

    def delivered(self, session_id: str) -> None:
        """Kafka acknowledged the session's completion: nothing is left to send for it."""
        with self._lock:
            self.conn.execute("UPDATE supplied SET delivered=1, final_record=NULL WHERE session_id=?", (session_id,))

    def undelivered(self) -> list[StoredCompletion]:
        """Completions stored and not acknowledged, oldest first."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT session_id, final_id, final_key, final_record FROM supplied"
                " WHERE final_id IS NOT NULL AND delivered=0 ORDER BY started_at").fetchall()
        return [StoredCompletion(s, m, k, r) for s, m, k, r in rows]

    def interrupted(self) -> list[Interrupted]:
        """Supplies started and never finished, oldest first: at start-up, the ones a crash cut short."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT session_id, kwh, elapsed_s FROM supplied WHERE final_id IS NULL ORDER BY started_at").fetchall()
        return [Interrupted(s, k, e) for s, k, e in rows]

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            row = self.conn.execute("SELECT 1 FROM supplied WHERE session_id=?", (session_id,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        with self._lock:
            return int(self.conn.execute("SELECT COUNT(*) FROM supplied").fetchone()[0])

    def prune(self, now: float) -> int:
        """Forget ids older than ``max_age`` and all but the newest ``keep``; returns how many went."""
        with self._lock:
            return self._prune(now)

    def _prune(self, now: float) -> int:
        self.conn.execute("BEGIN IMMEDIATE")  # autocommit connection: one transaction for both deletes
        try:
            old = self.conn.execute("DELETE FROM supplied WHERE started_at < ?", (now - self.max_age,)).rowcount
            excess = self.conn.execute(
                "DELETE FROM supplied WHERE started_at < (SELECT started_at FROM supplied"
                " ORDER BY started_at DESC LIMIT 1 OFFSET ?)",  # the keep-th newest; fewer rows: NULL, none
                (self.keep - 1,),
            ).rowcount
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return old + excess

    def close(self) -> None:
        with self._lock:
            self.conn.close()


class VolatileSessions:
    """``SuppliedSessions`` in memory, for an engine run without ``--state``: it still ignores a
    redelivered start while it lives; a restart forgets everything (what ``--state`` is for)."""

    def __init__(self, size: int = 1000) -> None:
        self._ids = RecentIds(size)

    def add(self, session_id: str) -> bool:
        return self._ids.add(session_id)

    def meter(self, session_id: str, kwh: float, elapsed_s: float) -> None:
        """Nothing to keep: readings in memory die with the process anyway."""

    def finish(self, completion: StoredCompletion, kwh: float, elapsed_s: float) -> None:
        """Nothing to keep (see ``meter``)."""

    def delivered(self, session_id: str) -> None:
        """Nothing was kept (see ``meter``)."""

    def undelivered(self) -> list[StoredCompletion]:
        return []

    def interrupted(self) -> list[Interrupted]:
        return []

    def close(self) -> None:
        """Nothing to close."""
