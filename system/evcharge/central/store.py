"""Central's SQLite store: schema, transactions and the atomic operations the handlers build on.

Why SQLite in WAL mode with ``synchronous=NORMAL``: one embedded file, readers (``evcharge status``,
the harness's probes) never block the writer, and a commit costs no fsync (WAL is synced at
checkpoints), which is what lets Central commit one transaction per consumer batch at thousands of
messages per second. A power cut may lose the last transactions, but never corrupts the file; the
lost messages are then redelivered from Kafka because offsets are committed only after the commit.

Every write runs inside ``transaction()`` (``BEGIN IMMEDIATE``: the write lock is taken up front), so
"find an available CP, then reserve it" cannot interleave with another writer — in this process or
another — and a CP is never booked twice.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evcharge.states import CpEvent, CpState, next_state

PRUNE_BATCH = 10_000
"""At most this many ``processed`` rows are deleted per prune (see ``Store.prune_processed``)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS cps (
    cp_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    engine_ok INTEGER NOT NULL DEFAULT 1,
    last_heartbeat REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS cps_state ON cps(state, cp_id);
CREATE TABLE IF NOT EXISTS drivers (driver_id TEXT PRIMARY KEY, first_seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reservations (
    reservation_id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    cp_id TEXT NOT NULL,
    duration_s REAL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    status TEXT NOT NULL            -- active | used | released
);
CREATE INDEX IF NOT EXISTS reservations_driver ON reservations(driver_id, status);
CREATE INDEX IF NOT EXISTS reservations_expiry ON reservations(status, expires_at);
-- Only active rows (at most one per CP): finding a CP's reservation stays O(log n) however many
-- reservations the table has accumulated, and costs no index entry for used/released rows.
CREATE INDEX IF NOT EXISTS reservations_cp_active ON reservations(cp_id) WHERE status='active';
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    reservation_id TEXT NOT NULL UNIQUE,
    driver_id TEXT NOT NULL,
    cp_id TEXT NOT NULL,
    price_eur_kwh REAL NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    kwh REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL            -- active | closed
);
CREATE INDEX IF NOT EXISTS sessions_driver ON sessions(driver_id, status);
CREATE INDEX IF NOT EXISTS sessions_cp ON sessions(cp_id, status);
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE,   -- one ticket per session, enforced by the database
    driver_id TEXT NOT NULL,
    cp_id TEXT NOT NULL,
    kwh REAL NOT NULL,
    price_eur REAL NOT NULL,
    duration_s REAL NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS processed (message_id TEXT PRIMARY KEY, processed_at REAL NOT NULL);
-- Pruning runs every sweep (0.5 s); without this index every prune scanned the whole table, which
-- grows by one row per message consumed.
CREATE INDEX IF NOT EXISTS processed_at ON processed(processed_at);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key TEXT,
    value BLOB NOT NULL,
    message_id TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Cp:
    cp_id: str
    state: CpState
    engine_ok: bool
    last_heartbeat: float


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    request_id: str
    driver_id: str
    cp_id: str
    duration_s: float | None
    created_at: float
    expires_at: float
    status: str


@dataclass(frozen=True)
class Session:
    session_id: str
    reservation_id: str
    driver_id: str
    cp_id: str
    price_eur_kwh: float
    started_at: float
    kwh: float
    status: str


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    topic: str
    key: str | None
    value: bytes
    message_id: str


def connect(path: str | Path) -> sqlite3.Connection:
    """Open the database with the pragmas Central relies on (autocommit mode: we issue BEGIN)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class Store:
    """All SQL lives here. Methods other than ``transaction`` expect to run inside one."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self.conn = connect(path)
        self.conn.executescript(SCHEMA)
        self._lock = threading.RLock()  # one connection may be shared by threads in tests

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if the block raises."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested unit inside a transaction: undone alone if the block raises."""
        self.conn.execute("SAVEPOINT msg")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK TO msg")
            self.conn.execute("RELEASE msg")
            raise
        self.conn.execute("RELEASE msg")

    # -- idempotency -----------------------------------------------------------------------------
    def already_processed(self, message_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM processed WHERE message_id=?", (message_id,)).fetchone() is not None

    def mark_processed(self, message_id: str, now: float) -> bool:
        """Record ``message_id``; True if it is new, False if it was processed already.

        One statement does both the check and the mark: inside the caller's transaction (the write
        lock is held from BEGIN IMMEDIATE) nothing can come between them."""
        return self.conn.execute("INSERT OR IGNORE INTO processed VALUES (?, ?)", (message_id, now)).rowcount == 1

    def prune_processed(self, older_than: float, limit: int = PRUNE_BATCH) -> int:
        """Forget up to ``limit`` ids processed before ``older_than`` (oldest first).

        The bound keeps one sweep short after a long downtime, when a whole backlog expires at once;
        the next sweeps take the rest."""
        return self.conn.execute(
            "DELETE FROM processed WHERE rowid IN"
            " (SELECT rowid FROM processed WHERE processed_at < ? ORDER BY processed_at LIMIT ?)",
            (older_than, limit),
        ).rowcount

    # -- charging points -------------------------------------------------------------------------
    def cp(self, cp_id: str) -> Cp | None:
        row = self.conn.execute(
            "SELECT cp_id, state, engine_ok, last_heartbeat FROM cps WHERE cp_id=?", (cp_id,)
        ).fetchone()
        return Cp(row[0], CpState(row[1]), bool(row[2]), row[3]) if row else None

    def cps(self) -> list[Cp]:
        rows = self.conn.execute("SELECT cp_id, state, engine_ok, last_heartbeat FROM cps ORDER BY cp_id")
        return [Cp(r[0], CpState(r[1]), bool(r[2]), r[3]) for r in rows]

    def register_cp(self, cp_id: str, state: CpState, engine_ok: bool, now: float) -> None:
        self.conn.execute("INSERT INTO cps VALUES (?, ?, ?, ?, ?)", (cp_id, state.value, int(engine_ok), now, now))

    def record_heartbeat(self, cp_id: str, engine_ok: bool, now: float) -> None:
        self.conn.execute("UPDATE cps SET last_heartbeat=?, engine_ok=? WHERE cp_id=?", (now, int(engine_ok), cp_id))

    def transition(self, cp_id: str, event: CpEvent, now: float) -> tuple[CpState, CpState]:
        """Apply ``event`` through the state table; returns (before, after). Raises if not allowed."""
        cp = self.cp(cp_id)
        if cp is None:
            raise KeyError(cp_id)
        after = next_state(cp.state, event)
        if after != cp.state:
            self.conn.execute("UPDATE cps SET state=?, updated_at=? WHERE cp_id=?", (after.value, now, cp_id))
        return cp.state, after

    def first_available_cp(self) -> str | None:
        row = self.conn.execute("SELECT cp_id FROM cps WHERE state='available' ORDER BY cp_id LIMIT 1").fetchone()
        return row[0] if row else None

    def stale_cps(self, before: float) -> list[str]:
        """CPs whose monitor has not been heard since ``before`` and are not yet marked.

        ``last_heartbeat`` is when Central *consumed* the latest heartbeat (its wall clock), which is
        what the heard-up-to rule in ``central/hearing.py`` compares against."""
        rows = self.conn.execute(
            "SELECT cp_id FROM cps WHERE last_heartbeat < ? AND state NOT IN ('disconnected', 'stopped')",
            (before,),
        )
        return [r[0] for r in rows]

    # -- drivers, reservations, sessions ---------------------------------------------------------
    def touch_driver(self, driver_id: str, now: float) -> None:
        self.conn.execute("INSERT OR IGNORE INTO drivers VALUES (?, ?)", (driver_id, now))

    def driver_busy(self, driver_id: str) -> bool:
        """True if the driver holds an active reservation or an active session."""
        return (
            self.conn.execute(
                "SELECT 1 FROM reservations WHERE driver_id=? AND status='active' "
                "UNION ALL SELECT 1 FROM sessions WHERE driver_id=? AND status='active' LIMIT 1",
                (driver_id, driver_id),
            ).fetchone()
            is not None
        )

    def add_reservation(self, r: Reservation) -> None:
        self.conn.execute(
            "INSERT INTO reservations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.reservation_id,
                r.request_id,
                r.driver_id,
                r.cp_id,
                r.duration_s,
                r.created_at,
                r.expires_at,
                r.status,
            ),
        )

    def reservation(self, reservation_id: str) -> Reservation | None:
        row = self.conn.execute("SELECT * FROM reservations WHERE reservation_id=?", (reservation_id,)).fetchone()
        return Reservation(*row) if row else None

    def active_reservation_for_cp(self, cp_id: str) -> Reservation | None:
        row = self.conn.execute("SELECT * FROM reservations WHERE cp_id=? AND status='active'", (cp_id,)).fetchone()
        return Reservation(*row) if row else None

    def set_reservation_status(self, reservation_id: str, status: str) -> None:
        self.conn.execute("UPDATE reservations SET status=? WHERE reservation_id=?", (status, reservation_id))

    def expired_reservations(self, now: float) -> list[Reservation]:
        rows = self.conn.execute(
            "SELECT * FROM reservations WHERE status='active' AND expires_at <= ?", (now,)
        ).fetchall()
        return [Reservation(*r) for r in rows]

    def add_session(self, s: Session) -> None:
        self.conn.execute(
            "INSERT INTO sessions (session_id, reservation_id, driver_id, cp_id, price_eur_kwh, started_at,"
            " kwh, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.session_id,
                s.reservation_id,
                s.driver_id,
                s.cp_id,
                s.price_eur_kwh,
                s.started_at,
                s.kwh,
                s.status,
            ),
        )

    def _session_where(self, where: str, *args: object) -> Session | None:
        row = self.conn.execute(
            "SELECT session_id, reservation_id, driver_id, cp_id, price_eur_kwh, started_at, kwh, status"
            f" FROM sessions WHERE {where}",
            args,
        ).fetchone()
        return Session(*row) if row else None

    def session(self, session_id: str) -> Session | None:
        return self._session_where("session_id=?", session_id)

    def session_for_reservation(self, reservation_id: str) -> Session | None:
        return self._session_where("reservation_id=?", reservation_id)

    def active_session_for_cp(self, cp_id: str) -> Session | None:
        return self._session_where("cp_id=? AND status='active'", cp_id)

    def update_session_energy(self, session_id: str, kwh: float) -> None:
        self.conn.execute("UPDATE sessions SET kwh=MAX(kwh, ?) WHERE session_id=?", (kwh, session_id))

    def close_session(self, session_id: str, now: float, kwh: float) -> None:
        self.conn.execute(
            "UPDATE sessions SET status='closed', ended_at=?, kwh=? WHERE session_id=?",
            (now, kwh, session_id),
        )

    def add_ticket(
        self, ticket_id: str, s: Session, kwh: float, price: float, duration: float, reason: str, now: float
    ) -> None:
        self.conn.execute(
            "INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ticket_id, s.session_id, s.driver_id, s.cp_id, kwh, price, duration, reason, now),
        )

    def ticket_count(self, session_id: str | None = None) -> int:
        if session_id is None:
            return self.conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM tickets WHERE session_id=?", (session_id,)).fetchone()[0]

    # -- transactional outbox --------------------------------------------------------------------
    def outbox_add(self, topic: str, key: str | None, value: bytes, message_id: str) -> int:
        """Queue a reply; returns its ``seq`` (replies go out, and are deleted, in ``seq`` order)."""
        cursor = self.conn.execute(
            "INSERT INTO outbox (topic, key, value, message_id) VALUES (?, ?, ?, ?)",
            (topic, key, value, message_id),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def outbox_pending(self) -> list[OutboxRow]:
        rows = self.conn.execute("SELECT seq, topic, key, value, message_id FROM outbox ORDER BY seq")
        return [OutboxRow(*r) for r in rows]

    def outbox_delete_through(self, seq: int) -> None:
        self.conn.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))
