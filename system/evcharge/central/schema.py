"""The shape of Central's database: connection pragmas, tables and indexes, upgrades, row types.

Kept apart from ``store`` (the operations) so the whole schema reads in one place. Every table that
grows with traffic is read through an index only (``tests/system/unit/test_central_store.py`` checks
the plans), and the tables that only grow are pruned by ``Store``'s sweeps (see ``store``).

``upgrade`` brings a database written by an earlier Central up to this schema in place, so a restart
on an old file neither fails nor loses its rows: columns are added with ``ALTER TABLE`` (SQLite's
``CREATE TABLE IF NOT EXISTS`` never changes an existing table) before the indexes that use them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from evcharge.states import CpState

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
    status TEXT NOT NULL,           -- active | used | released
    ended_at REAL                   -- when it stopped being active (used or released); NULL while active
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
    status TEXT NOT NULL,           -- active | stopping | closed
    last_telemetry REAL,            -- when Central last consumed its telemetry (its start, before any)
    stop_reason TEXT,               -- why Central stopped it (the ticket's reason); NULL if it never did
    stop_requested_at REAL          -- when Central sent its stop_supply; NULL if it never did
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

UPGRADE_COLUMNS = (
    ("sessions", "last_telemetry", "REAL", "started_at"),
    ("reservations", "ended_at", "REAL", "CASE WHEN status='active' THEN NULL ELSE expires_at END"),
    ("sessions", "stop_reason", "TEXT", "NULL"),
    ("sessions", "stop_requested_at", "REAL", "NULL"),
)
"""(table, column, type, filled from: an SQL expression over the row) for each column added since
the first schema. A reservation that ended before ``ended_at`` existed gets its ``expires_at``: its
true end was never recorded, and that is when the TTL ends one (to within a sweep) -- exact enough
for an expired one, later than the real end for one used or cancelled earlier, so a judgement of
such old rows may see them hold their CP for longer than they did. An active one stays NULL. The
stop columns stay NULL: an earlier Central had no ``stopping`` sessions (it closed them at once)."""

INDEXES = """
-- The telemetry-timeout sweep: only active sessions are indexed, by when they were last heard of.
CREATE INDEX IF NOT EXISTS sessions_silence ON sessions(last_telemetry) WHERE status='active';
-- Pruning closed sessions (oldest first) without a scan; costs an entry only once a session closes.
CREATE INDEX IF NOT EXISTS sessions_closed ON sessions(ended_at) WHERE status='closed';
-- The stop-grace sweep: only sessions Central stopped and still waits for, by when it asked.
CREATE INDEX IF NOT EXISTS sessions_stopping ON sessions(stop_requested_at) WHERE status='stopping';
"""
"""Indexes on upgraded columns: created after ``upgrade`` added them."""


def upgrade(conn: sqlite3.Connection) -> None:
    """Add the columns an older database lacks (filled for the existing rows), then the indexes."""
    for table, column, kind, source in UPGRADE_COLUMNS:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            conn.execute(f"UPDATE {table} SET {column}={source} WHERE {column} IS NULL")
    conn.executescript(INDEXES)


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
    ended_at: float | None = None
    """When it left ``active`` (``Store.set_reservation_status``); None while it is active."""


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
    """``active``, ``stopping`` (Central sent ``StopSupply`` and waits for the engine's final
    reading before it bills), or ``closed`` (its ticket exists)."""
    stop_reason: str | None = None
    """Why Central stopped it (the reason of its ticket); None if Central never stopped it."""
    stop_requested_at: float | None = None
    """When Central sent its ``StopSupply`` (the stop grace counts from there); None if it never did."""


@dataclass(frozen=True)
class StoredTicket:
    """A session's bill as Central keeps it (what an amendment starts from)."""

    ticket_id: str
    kwh: float
    price_eur: float
    duration_s: float
    reason: str


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
