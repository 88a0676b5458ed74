"""An append-only, tamper-evident audit log: one JSON line per security-relevant event.

Each record names who, what, the outcome, from where and when, and carries ``prev``, the hash of
the record before it, and ``hash``, its own: an HMAC-SHA256 over its canonical JSON without
``hash``, under a key kept outside the log (a plain SHA-256 when no key is given, which shows
accidents but not an editor who recomputes the chain). An edited, inserted, reordered or deleted
record breaks the chain at that line, which ``verify`` names. Cutting records off the *end* leaves
a valid shorter chain: compare the last hash ``verify`` prints with one kept elsewhere
(``evcharge audit verify --head HASH``) to catch that too.

Why a file of its own and not the service log: the service log is for operators and rotates; the
audit log is evidence, written before the refusal is answered, never rewritten.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
"""``prev`` of the first record."""


def record_hash(record: dict[str, Any], key: bytes | None = None) -> str:
    body = json.dumps({k: v for k, v in record.items() if k != "hash"}, sort_keys=True, separators=(",", ":"),
                      default=str).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest() if key else hashlib.sha256(body).hexdigest()


def load_key(path: Path) -> bytes:
    """The log's key from ``path``, made (32 random bytes, mode 0600) if the file does not exist."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = os.urandom(32).hex().encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        return key


class AuditLog:
    """Appends chained records to ``path`` (created with mode 0600); safe to share between threads
    and processes (each append holds an exclusive lock and continues from the last record on file),
    so a restarted service, or two writing one log, still write one unbroken chain."""

    def __init__(self, path: Path, component: str, key: bytes | None = None) -> None:
        self.path, self.component, self.key = path, component, key
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        last_link(path)  # a log whose last line is not a record is refused now, not at the first event

    def record(self, action: str, outcome: str, actor: str, source: str = "", **details: Any) -> dict[str, Any]:
        """Append one event: ``actor`` did (or tried) ``action``, with ``outcome`` (refused, accepted...)."""
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                prev, seq = last_link(self.path)
                entry: dict[str, Any] = {
                    "seq": seq + 1, "time": round(time.time(), 3), "component": self.component,
                    "actor": actor, "action": action, "outcome": outcome, "source": source,
                    "details": details, "prev": prev, "alg": "hmac-sha256" if self.key else "sha256",
                }
                entry["hash"] = record_hash(entry, self.key)
                os.write(self._fd, (json.dumps(entry, sort_keys=True, default=str) + "\n").encode())
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            return entry

    def close(self) -> None:
        os.close(self._fd)


TAIL = 64 * 1024
"""Bytes read from a log's end to find its last record (a record is well under 4 KiB)."""


def last_link(path: Path) -> tuple[str, int]:
    """(hash, seq) of the last record, or the genesis link for an empty log. Reads only the tail:
    appending must not cost more as the log grows."""
    with path.open("rb") as log:
        log.seek(max(0, log.seek(0, os.SEEK_END) - TAIL))
        lines = [line for line in log.read().splitlines() if line.strip()]
    last = lines[-1] if lines else b""
    if not last:
        return GENESIS, 0
    try:
        record = json.loads(last)
        return str(record["hash"]), int(record["seq"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"the audit log {path}'s last line is not a record: check it with `evcharge audit "
                         "verify`, and move the log aside to start a new one") from None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    records: int
    head: str
    problem: str = ""


def verify(path: Path, head: str | None = None, key: bytes | None = None) -> Verdict:
    """Check the whole chain; the first broken line is named with what is wrong with it. A keyed
    record (``alg`` hmac-sha256) is checked against ``key``; without the key it cannot be."""
    prev, count = GENESIS, 0
    with path.open("rb") as log:
        for number, line in enumerate(log, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                return Verdict(False, count, prev, f"line {number}: not a JSON record")
            if not isinstance(record, dict) or record.get("prev") != prev:
                return Verdict(False, count, prev, f"line {number}: its prev does not match the record before it "
                                                   "(a record was removed, inserted or reordered)")
            keyed = record.get("alg") == "hmac-sha256"
            if key is not None and not keyed:
                return Verdict(False, count, prev, f"line {number}: not signed with the key (made without it, "
                                                   "or its alg was changed)")
            if keyed and key is None:
                return Verdict(False, count, prev, f"line {number}: the log is keyed (HMAC): give its key "
                                                   "(--key-file) to verify it")
            if record.get("hash") != record_hash(record, key if keyed else None):
                return Verdict(False, count, prev, f"line {number}: its content does not match its hash (edited)")
            if record.get("seq") != count + 1:
                return Verdict(False, count, prev, f"line {number}: seq {record.get('seq')} where {count + 1} was due")
            prev, count = record["hash"], count + 1
    if head is not None and head != prev:
        return Verdict(False, count, prev, f"the last hash is {prev}, not {head}: records were cut off the end")
    return Verdict(True, count, prev)
