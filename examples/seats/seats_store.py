"""The booker's store: seats, the holds on them, and every request already answered (SQLite).

A seat is ``free``, ``held`` (by one hold, until its expiry) or ``sold``; a hold is ``held``, then
``sold`` (confirmed in time) or ``expired``. Each request is answered once, in the same transaction
as its effect: Kafka delivers at least once, and a request read again after a crash or a lost
commit gets the answer it got the first time instead of a second effect.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS seats (id TEXT PRIMARY KEY, state TEXT NOT NULL, hold TEXT);
CREATE TABLE IF NOT EXISTS holds (id TEXT PRIMARY KEY, seat TEXT NOT NULL, state TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answered (request TEXT PRIMARY KEY, status INTEGER NOT NULL, body TEXT NOT NULL);
"""
Answer = tuple[int, dict[str, Any]]
"""An HTTP status and its JSON body: what the api tells its client."""


class Store:
    """One connection to the store (a connection per thread: SQLite's rule)."""

    def __init__(self, path: str, ttl: float) -> None:
        self.ttl = ttl
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None)  # transactions are ours: BEGIN IMMEDIATE
        self.db.execute("PRAGMA journal_mode=WAL")  # the harness's probe reads while the booker writes
        self.db.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The writer lock from the first read on: the sweeper and the request loop never interleave."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def answer(self, request: dict[str, Any], now: float) -> Answer:
        """Apply one request (``hold`` a seat, ``confirm`` a hold) once; a repeat gets the first answer."""
        with self.transaction():
            done = self.db.execute("SELECT status, body FROM answered WHERE request = ?", (request["id"],)).fetchone()
            if done is not None:
                return int(done[0]), json.loads(done[1])
            if request.get("op") == "hold":
                status, body = self._hold(request["id"], str(request["seat"]), now)
            elif request.get("op") == "confirm":
                status, body = self._confirm(str(request["hold"]), now)
            else:
                status, body = 400, {"error": f"unknown operation {request.get('op')!r}: hold or confirm"}
            self.db.execute("INSERT INTO answered VALUES (?, ?, ?)", (request["id"], status, json.dumps(body)))
            return status, body

    def _hold(self, hold: str, seat: str, now: float) -> Answer:
        self.db.execute("INSERT OR IGNORE INTO seats VALUES (?, 'free', NULL)", (seat,))
        taken = self.db.execute("UPDATE seats SET state = 'held', hold = ? WHERE id = ? AND state = 'free'",
                                (hold, seat)).rowcount == 0
        if taken:
            [state] = self.db.execute("SELECT state FROM seats WHERE id = ?", (seat,)).fetchone()
            return 409, {"seat": seat, "state": state, "error": f"seat {seat} is {state}"}
        self.db.execute("INSERT INTO holds VALUES (?, ?, 'held', ?)", (hold, seat, now + self.ttl))
        lasts = self.ttl if math.isfinite(self.ttl) else None  # None: it never expires (``--ttl off``)
        return 201, {"hold": hold, "seat": seat, "state": "held", "expires_in": lasts}

    def _confirm(self, hold: str, now: float) -> Answer:
        row = self.db.execute("SELECT seat, state, expires FROM holds WHERE id = ?", (hold,)).fetchone()
        if row is None:
            return 404, {"hold": hold, "error": f"no hold {hold}"}
        seat, state, expires = row
        if state == "held" and expires <= now:
            state = "expired"  # its time is up even if the sweeper has not been round yet
        if state != "held":
            return 409, {"hold": hold, "seat": seat, "state": state, "error": f"hold {hold} is {state}"}
        self.db.execute("UPDATE holds SET state = 'sold' WHERE id = ?", (hold,))
        self.db.execute("UPDATE seats SET state = 'sold' WHERE id = ? AND hold = ?", (seat, hold))
        return 200, {"hold": hold, "seat": seat, "state": "sold"}

    def expire(self, now: float) -> int:
        """Free every seat whose hold's time is up; returns how many holds expired."""
        with self.transaction():
            self.db.execute("UPDATE seats SET state = 'free', hold = NULL WHERE state = 'held' AND hold IN "
                            "(SELECT id FROM holds WHERE state = 'held' AND expires <= ?)", (now,))
            return self.db.execute("UPDATE holds SET state = 'expired' WHERE state = 'held' AND expires <= ?",
                                   (now,)).rowcount
