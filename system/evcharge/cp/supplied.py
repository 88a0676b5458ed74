"""The sessions an engine has supplied, kept in a small SQLite file so a restart remembers them.

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

The table stays small: rows older than ``max_age`` (by default ``wire.DEDUP_RETENTION_S``, past
which the wire refuses the start as too old anyway) and all but the newest ``keep`` are pruned, at
open and every ``PRUNE_EVERY`` additions.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from evcharge.wire import DEDUP_RETENTION_S

SCHEMA = """
CREATE TABLE IF NOT EXISTS supplied (session_id TEXT PRIMARY KEY, started_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS supplied_started ON supplied(started_at);
"""

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
        self.prune(time.time())

    def add(self, session_id: str, now: float | None = None) -> bool:
        """Record ``session_id`` as supplied (committed when this returns); False if it already was."""
        now = time.time() if now is None else now
        with self._lock:
            new = self.conn.execute("INSERT OR IGNORE INTO supplied VALUES (?, ?)", (session_id, now)).rowcount == 1
            self._added += new
            if self._added >= PRUNE_EVERY:
                self._added = 0
                self._prune(now)
        return new

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
