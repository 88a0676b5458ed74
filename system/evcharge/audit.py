"""An append-only, tamper-evident audit log: one JSON line per security-relevant event.

Each record names who, what, the outcome, from where and when, and carries ``prev``, the hash of
the record before it, and ``hash``, its own (SHA-256 over its canonical JSON without ``hash``). An
edited, inserted, reordered or deleted record breaks the chain at that line, which ``verify`` names.
Cutting records off the *end* leaves a valid shorter chain: compare the last hash ``verify`` prints
with one kept elsewhere (``evcharge audit verify --head HASH``) to catch that too.

Why a file of its own and not the service log: the service log is for operators and rotates; the
audit log is evidence, written before the refusal is answered, never rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
"""``prev`` of the first record."""


def record_hash(record: dict[str, Any]) -> str:
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


class AuditLog:
    """Appends chained records to ``path`` (created with mode 0600); safe to share between threads.

    A process that opens an existing log continues its chain from the last record, so a restarted
    service writes one unbroken log."""

    def __init__(self, path: Path, component: str) -> None:
        self.path, self.component = path, component
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._prev, self._seq = last_link(path)

    def record(self, action: str, outcome: str, actor: str, source: str = "", **details: Any) -> dict[str, Any]:
        """Append one event: ``actor`` did (or tried) ``action``, with ``outcome`` (refused, accepted...)."""
        with self._lock:
            entry: dict[str, Any] = {
                "seq": self._seq + 1, "time": round(time.time(), 3), "component": self.component,
                "actor": actor, "action": action, "outcome": outcome, "source": source,
                "details": details, "prev": self._prev,
            }
            entry["hash"] = record_hash(entry)
            os.write(self._fd, (json.dumps(entry, sort_keys=True, default=str) + "\n").encode())
            self._prev, self._seq = entry["hash"], entry["seq"]
            return entry

    def close(self) -> None:
        os.close(self._fd)


def last_link(path: Path) -> tuple[str, int]:
    """(hash, seq) of the last record, or the genesis link for an empty log."""
    last = b""
    with path.open("rb") as log:
        for line in log:
            if line.strip():
                last = line
    if not last:
        return GENESIS, 0
    record = json.loads(last)
    return str(record["hash"]), int(record["seq"])


@dataclass(frozen=True)
class Verdict:
    ok: bool
    records: int
    head: str
    problem: str = ""


def verify(path: Path, head: str | None = None) -> Verdict:
    """Check the whole chain; the first broken line is named with what is wrong with it."""
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
            if record.get("hash") != record_hash(record):
                return Verdict(False, count, prev, f"line {number}: its content does not match its hash (edited)")
            if record.get("seq") != count + 1:
                return Verdict(False, count, prev, f"line {number}: seq {record.get('seq')} where {count + 1} was due")
            prev, count = record["hash"], count + 1
    if head is not None and head != prev:
        return Verdict(False, count, prev, f"the last hash is {prev}, not {head}: records were cut off the end")
    return Verdict(True, count, prev)
