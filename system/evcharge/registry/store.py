"""The registry's database: one row per principal, its key, its state, and the key it replaced.

Why SQLite read in place by Central rather than keys fetched over the network: Central checks a key
for every record it consumes; a local read-only connection answers in microseconds and sees a
revocation at the next lookup (``PRAGMA data_version`` changes whenever another connection commits),
so "revoked" means refused at once, with no cache to expire and no call on the hot path.

A rotated key stays valid for ``ROTATION_GRACE_S``: records the component sealed just before it read
its new key are still in Kafka, and would otherwise be refused as forgeries. A revoked principal has
no valid key at all, from that moment.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from evcharge.auth.claims import Principal
from evcharge.auth.keys import new_key

T = TypeVar("T")
KINDS = ("cp", "driver", "operator", "central")
ROTATION_GRACE_S = 60.0
_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS principals (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    key TEXT,
    previous_key TEXT,
    previous_until REAL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    registered_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (kind, id)
);
"""


class RegistryError(ValueError):
    """A request the registry refuses, with what to do instead; ``conflict`` for an existing principal."""

    def __init__(self, message: str, conflict: bool = False, missing: bool = False) -> None:
        super().__init__(message)
        self.conflict, self.missing = conflict, missing


@dataclass(frozen=True)
class Entry:
    kind: str
    id: str
    status: str
    registered_at: float
    updated_at: float

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "id": self.id, "status": self.status,
                "registered_at": self.registered_at, "updated_at": self.updated_at}


def check_name(kind: str, ident: str) -> None:
    if kind not in KINDS:
        raise RegistryError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    if not _ID.match(ident):
        raise RegistryError(f"{kind} id {ident!r} must be 1-64 letters, digits, '_', '.' or '-'")


def _locked(method: Callable[..., T]) -> Callable[..., T]:
    def run(self: RegistryStore, *args: Any, **kwargs: Any) -> T:
        with self._lock:
            return method(self, *args, **kwargs)
    run.__doc__, run.__name__ = method.__doc__, method.__name__
    return run


class RegistryStore:
    """The registry's own read-write connection (the server's, or an administrator's offline)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # Every key is in here: the file is made 0600 before SQLite opens it, and SQLite gives its
        # -wal and -shm files the database's own mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(SCHEMA)
        self._lock = threading.RLock()  # one connection, shared by the server's request threads

    def close(self) -> None:
        self.conn.close()

    @_locked
    def enroll(self, kind: str, ident: str) -> bytes:
        """A new principal's key. An active one is a conflict (rotate it instead); a revoked one is
        enrolled again with a fresh key."""
        check_name(kind, ident)
        key, now = new_key(), time.time()
        with self._immediate():
            row = self.conn.execute("SELECT status FROM principals WHERE kind=? AND id=?", (kind, ident)).fetchone()
            if row is not None and row[0] == "active":
                raise RegistryError(f"{kind} {ident} is registered already: rotate its key instead", conflict=True)
            self.conn.execute(
                "INSERT OR REPLACE INTO principals VALUES (?, ?, ?, NULL, NULL, 'active', ?, ?)",
                (kind, ident, key.hex(), now, now))
        return key

    @_locked
    def rotate(self, kind: str, ident: str, grace: float = ROTATION_GRACE_S) -> bytes:
        """A fresh key for an active principal; the old one stays valid for ``grace`` seconds."""
        key, now = new_key(), time.time()
        with self._immediate():
            self._active(kind, ident)
            self.conn.execute(
                "UPDATE principals SET previous_key=key, previous_until=?, key=?, updated_at=? WHERE kind=? AND id=?",
                (now + grace, key.hex(), now, kind, ident))
        return key

    @_locked
    def revoke(self, kind: str, ident: str) -> None:
        """No key of the principal is valid any more, from now."""
        with self._immediate():
            self._active(kind, ident)
            self.conn.execute(
                "UPDATE principals SET status='revoked', key=NULL, previous_key=NULL, previous_until=NULL, "
                "updated_at=? WHERE kind=? AND id=?", (time.time(), kind, ident))

    @_locked
    def entries(self, kind: str | None = None) -> list[Entry]:
        query = "SELECT kind, id, status, registered_at, updated_at FROM principals"
        rows = self.conn.execute(query + (" WHERE kind=?" if kind else "") + " ORDER BY kind, id",
                                 (kind,) if kind else ())
        return [Entry(*row) for row in rows]

    @contextlib.contextmanager
    def _immediate(self) -> Iterator[None]:
        """One write transaction, taken at its start: another process (an offline ``init`` while the
        server runs) cannot slip a write between this one's read and its write."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _active(self, kind: str, ident: str) -> None:
        check_name(kind, ident)
        row = self.conn.execute("SELECT status FROM principals WHERE kind=? AND id=?", (kind, ident)).fetchone()
        if row is None:
            raise RegistryError(f"{kind} {ident} is not registered: enroll it first", missing=True)
        if row[0] != "active":
            raise RegistryError(f"{kind} {ident} was revoked: enroll it again for a new key", conflict=True)


class RegistryView:
    """Central's read-only view: the valid keys of a principal, always as the database has them now.

    Keys are cached; the cache is dropped whenever ``PRAGMA data_version`` says another connection
    committed, so a lookup costs one pragma (a few microseconds) until something changes."""

    def __init__(self, path: Path | str) -> None:
        if not Path(path).exists():
            raise FileNotFoundError(f"no registry database at {path}: create it with evcharge registry init "
                                    "(or serve), and enroll the network's CPs and drivers")
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=5000")
        self._version = -1
        self._cache: dict[Principal, tuple[tuple[bytes, ...], float]] = {}  # keys, valid until

    def keys(self, principal: Principal) -> tuple[bytes, ...]:
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._version, self._cache = version, {}
        cached = self._cache.get(principal)
        if cached is None or cached[1] <= time.time():  # a replaced key's grace ran out
            cached = self._load(principal)
            if cached[0]:  # only principals that exist: a stream of made-up senders must not grow it
                self._cache[principal] = cached
        return cached[0]

    def _load(self, principal: Principal) -> tuple[tuple[bytes, ...], float]:
        row = self.conn.execute(
            "SELECT key, previous_key, previous_until FROM principals WHERE kind=? AND id=? AND status='active'",
            (principal.kind, principal.id)).fetchone()
        if row is None:
            return (), math.inf
        key, previous, until = row
        if previous and until is not None and until > time.time():  # newest first, the replaced one last
            return (bytes.fromhex(key), bytes.fromhex(previous)), until
        return (bytes.fromhex(key),), math.inf

    def active(self, kind: str) -> frozenset[str]:
        rows = self.conn.execute("SELECT id FROM principals WHERE kind=? AND status='active'", (kind,))
        return frozenset(row[0] for row in rows)

    def close(self) -> None:
        self.conn.close()
