"""A driver's charge request and its life: pending -> authorized -> charging -> completed.

Final states are ``completed`` (with a ticket), ``denied`` (Central said no, with a reason),
``failed`` (no answer before the deadline, reservation expired or released, session refused) and
``cancelled`` (the driver stopped it before it charged). Every final state carries a reason a person
can read; nothing is ever silently dropped. Final is final: an answer arriving later is recorded (a
late ticket is kept in ``ticket``) but never changes the state a client may already have seen.

``deadline`` is when the next word from Central is due, whatever the state: its answer while
``pending``, the session's start while ``authorized``, telemetry or the ticket while ``charging`` or
``stopping`` (see ``Driver.expire``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

FINAL = frozenset({"completed", "denied", "failed", "cancelled"})


@dataclass
class ChargeRequest:
    request_id: str
    wanted_cp: str | None
    duration_s: float | None
    deadline: float  # wall clock: the next word from Central expected before this
    state: str = "pending"
    created_at: float = field(default_factory=time.time)
    cp_id: str | None = None
    reservation_id: str | None = None
    session_id: str | None = None
    reason: str | None = None
    telemetry: dict[str, Any] | None = None
    ticket: dict[str, Any] | None = None
    ended_at: float | None = None  # wall clock: when it reached a final state (pruned a while later)
    history: list[tuple[float, str]] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def move(self, state: str, reason: str | None = None) -> None:
        now = time.time()
        self.state = state
        if reason is not None:
            self.reason = reason
        if state in FINAL and self.ended_at is None:
            self.ended_at = now
        self.history.append((round(now, 3), state))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["final"] = self.final
        if not math.isfinite(data["deadline"]):  # no deadline (the seed's): JSON has no Infinity
            data["deadline"] = None
        return data
