"""Central's SQLite store: transactions and the atomic operations the handlers build on.

Why SQLite in WAL mode with ``synchronous=NORMAL``: one embedded file, readers (``evcharge status``,
the harness's probes) never block the writer, and a commit costs no fsync (WAL is synced at
checkpoints), which is what lets Central commit one transaction per consumer batch at thousands of
messages per second. A power cut may lose the last transactions, but never corrupts the file; the
lost messages are then redelivered from Kafka because offsets are committed only after the commit.

Every write runs inside ``transaction()`` (``BEGIN IMMEDIATE``: the write lock is taken up front), so
"find an available CP, then reserve it" cannot interleave with another writer — in this process or
another — and a CP is never booked twice.

The schema, its upgrades and the row types are in ``schema`` (re-exported here). What grows with
traffic and is pruned: ``processed`` (``prune_processed``), and finished reservations and closed
sessions (``prune_history``); ``outbox`` rows leave once Kafka has them (or has refused them for
good). ``tickets`` are kept: they are the billing record, not Central's working state.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from evcharge.central.schema import SCHEMA, Cp, OutboxRow, Reservation, Session, StoredTicket, connect, upgrade
from evcharge.states import CpEvent, CpState, next_state

__all__ = ["PRUNE_BATCH", "Cp", "OutboxRow", "Reservation", "Session", "Store", "StoredTicket", "connect"]

PRUNE_BATCH = 10_000
"""At most this many rows of a table are deleted per prune (see ``Store.prune_processed``)."""

RESERVATION_COLUMNS = (
    "reservation_id, request_id, driver_id, cp_id, duration_s, created_at, expires_at, status, ended_at"
)
"""Named, not ``*``: the row type must not depend on the order the columns were added in."""
SESSION_COLUMNS = (
    "session_id, reservation_id, driver_id, cp_id, price_eur_kwh, started_at, kwh, status,"
    " stop_reason, stop_requested_at"
)


class Store:
    """All SQL lives here. Methods other than ``transaction`` expect to run inside one."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self.conn = connect(path)
        self.conn.executescript(SCHEMA)
        upgrade(self.conn)
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

    def prune_history(self, older_than: float, limit: int = PRUNE_BATCH) -> int:
        """Forget up to ``limit`` reservations and ``limit`` sessions that ended before ``older_than``.

        Both grow by a row per charge and are only Central's working state once finished (the ticket
        keeps what was billed). A used reservation whose session is not closed yet (active, or
        stopping: no ticket yet) is kept: a retried ``charging_started`` for it must still find it.
        Bounded like ``prune_processed``."""
        reservations = self.conn.execute(
            "DELETE FROM reservations WHERE rowid IN (SELECT rowid FROM reservations r"
            " WHERE status IN ('used', 'released') AND expires_at < ? AND NOT EXISTS"
            " (SELECT 1 FROM sessions s WHERE s.reservation_id=r.reservation_id"
            " AND s.status IN ('active', 'stopping')) LIMIT ?)",
            (older_than, limit),
        ).rowcount
        sessions = self.conn.execute(
            "DELETE FROM sessions WHERE rowid IN"
            " (SELECT rowid FROM sessions WHERE status='closed' AND ended_at < ? LIMIT ?)",
            (older_than, limit),
        ).rowcount
        return reservations + sessions

    # -- charging points -------------------------------------------------------------------------
    def cp(self, cp_id: str) -> Cp | None:
        row = self.conn.execute(
            "SELECT cp_id, state, engine_ok, last_heartbeat FROM cps WHERE cp_id=?", (cp_id,)
        ).fetchone()
        return Cp(row[0], CpState(row[1]), bool(row[2]), row[3]) if row else None

    def cps(self) -> list[Cp]:
        rows = self.conn.execute("SELECT cp_id, state, engine_ok, last_heartbeat FROM cps ORDER BY cp_id")
        return [Cp(r[0], CpState(r[1]), bool(r[2]), r[3]) for r in rows]

    def cps_for_list(self, limit: int) -> list[Cp]:
        """At most ``limit`` CPs, available ones first (what a driver looks for), in ``cp_id`` order."""
        rows = self.conn.execute(
            "SELECT cp_id, state, engine_ok, last_heartbeat FROM cps ORDER BY state != 'available', cp_id LIMIT ?",
            (limit,),
        )
        return sorted((Cp(r[0], CpState(r[1]), bool(r[2]), r[3]) for r in rows), key=lambda cp: cp.cp_id)

    def cp_count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM cps").fetchone()[0]

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
        """The first available CP that has no ``stopping`` session: a CP is available again as soon as
        Central stopped its session (a telemetry timeout finishes it, a fault may clear at once), but
        its engine may still be supplying until the stop reaches it, so nobody is given it yet."""
        row = self.conn.execute(
            "SELECT cp_id FROM cps c WHERE state='available' AND NOT EXISTS"
            " (SELECT 1 FROM sessions s WHERE s.cp_id=c.cp_id AND s.status='stopping') ORDER BY cp_id LIMIT 1"
        ).fetchone()
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
        """True if the driver holds an active reservation, or a session without a ticket yet (active,
        or stopping: its charge is still going on, as far as the driver knows, until the ticket)."""
        return (
            self.conn.execute(
                "SELECT 1 FROM reservations WHERE driver_id=? AND status='active' "
                "UNION ALL SELECT 1 FROM sessions WHERE driver_id=? AND status IN ('active', 'stopping') LIMIT 1",
                (driver_id, driver_id),
            ).fetchone()
            is not None
        )

    def add_reservation(self, r: Reservation) -> None:
        self.conn.execute(
            f"INSERT INTO reservations ({RESERVATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.reservation_id,
                r.request_id,
                r.driver_id,
                r.cp_id,
                r.duration_s,
                r.created_at,
                r.expires_at,
                r.status,
                r.ended_at,
            ),
        )

    def reservation(self, reservation_id: str) -> Reservation | None:
        row = self.conn.execute(
            f"SELECT {RESERVATION_COLUMNS} FROM reservations WHERE reservation_id=?", (reservation_id,)
        ).fetchone()
        return Reservation(*row) if row else None

    def active_reservation_for_cp(self, cp_id: str) -> Reservation | None:
        row = self.conn.execute(
            f"SELECT {RESERVATION_COLUMNS} FROM reservations WHERE cp_id=? AND status='active'", (cp_id,)
        ).fetchone()
        return Reservation(*row) if row else None

    def set_reservation_status(self, reservation_id: str, status: str, now: float) -> None:
        """Set the status; leaving ``active`` records ``ended_at = now``, once (a later change keeps it).

        Why ``ended_at``: a reservation holds its CP from ``created_at`` until it is used (the
        session holds it then) or released, and whoever judges that no CP was ever held by two
        parties at once needs both ends of every hold."""
        self.conn.execute(
            "UPDATE reservations SET ended_at=CASE WHEN status='active' AND ?!='active' THEN ? ELSE ended_at END,"
            " status=? WHERE reservation_id=?",
            (status, now, status, reservation_id),
        )

    def expired_reservations(self, now: float) -> list[Reservation]:
        rows = self.conn.execute(
            f"SELECT {RESERVATION_COLUMNS} FROM reservations WHERE status='active' AND expires_at <= ?", (now,)
        ).fetchall()
        return [Reservation(*r) for r in rows]

    def add_session(self, s: Session) -> None:
        """Insert a session; it counts as last heard of at its start (see ``silent_sessions``)."""
        self.conn.execute(
            f"INSERT INTO sessions ({SESSION_COLUMNS}, last_telemetry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.session_id,
                s.reservation_id,
                s.driver_id,
                s.cp_id,
                s.price_eur_kwh,
                s.started_at,
                s.kwh,
                s.status,
                s.stop_reason,
                s.stop_requested_at,
                s.started_at,
            ),
        )

    def _session_where(self, where: str, *args: object) -> Session | None:
        row = self.conn.execute(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE {where}", args).fetchone()
        return Session(*row) if row else None

    def session(self, session_id: str) -> Session | None:
        return self._session_where("session_id=?", session_id)

    def session_for_reservation(self, reservation_id: str) -> Session | None:
        return self._session_where("reservation_id=?", reservation_id)

    def active_session_for_cp(self, cp_id: str) -> Session | None:
        return self._session_where("cp_id=? AND status='active'", cp_id)

    def stopping_session_for_cp(self, cp_id: str) -> Session | None:
        """The session Central stopped on ``cp_id`` and still waits for (at most one: its CP is
        granted to nobody until it closes)."""
        return self._session_where("cp_id=? AND status='stopping'", cp_id)

    def request_stop(self, session_id: str, reason: str, now: float) -> None:
        """Mark an active session ``stopping``: Central sent ``StopSupply`` at ``now`` for ``reason``
        and bills once the engine's final reading arrives (or the stop grace is over)."""
        self.conn.execute(
            "UPDATE sessions SET status='stopping', stop_reason=?, stop_requested_at=?"
            " WHERE session_id=? AND status='active'",
            (reason, now, session_id),
        )

    def stopping_sessions(self, before: float) -> list[Session]:
        """Sessions Central asked to stop before ``before`` and still has no final reading for."""
        rows = self.conn.execute(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE status='stopping' AND stop_requested_at < ?"
            " ORDER BY stop_requested_at",
            (before,),
        )
        return [Session(*r) for r in rows]

    def update_session_energy(self, session_id: str, kwh: float, now: float) -> None:
        """Record a telemetry reading consumed at ``now`` (energy never goes down: readings may be
        redelivered out of order)."""
        self.conn.execute(
            "UPDATE sessions SET kwh=MAX(kwh, ?), last_telemetry=? WHERE session_id=?", (kwh, now, session_id)
        )

    def silent_sessions(self, before: float) -> list[Session]:
        """Active sessions with no telemetry consumed since ``before`` (nor started since)."""
        rows = self.conn.execute(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE status='active' AND last_telemetry < ?"
            " ORDER BY last_telemetry",
            (before,),
        )
        return [Session(*r) for r in rows]

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

    def ticket_of(self, session_id: str) -> StoredTicket | None:
        row = self.conn.execute(
            "SELECT ticket_id, kwh, price_eur, duration_s, reason FROM tickets WHERE session_id=?", (session_id,)
        ).fetchone()
        return StoredTicket(*row) if row else None

    def amend_ticket(self, ticket_id: str, session_id: str, kwh: float, price: float) -> None:
        """A ticket billed again with a later, higher reading (its session's kWh with it)."""
        self.conn.execute("UPDATE tickets SET kwh=?, price_eur=? WHERE ticket_id=?", (kwh, price, ticket_id))
        self.conn.execute("UPDATE sessions SET kwh=? WHERE session_id=?", (kwh, session_id))

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
        """Forget every reply up to ``seq``: acknowledged by Kafka, or refused by it for good."""
        self.conn.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))
