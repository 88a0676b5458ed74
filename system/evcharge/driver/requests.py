"""A driver's charge request and its life: pending -> authorized -> charging -> completed.

Final states are ``completed`` (with a ticket), ``denied`` (Central said no, with a reason),
``failed`` (no answer before the deadline, reservation expired or released, session refused) and
``cancelled`` (the driver stopped it before it charged). Every final state carries a reason a person
can read; nothing is ever silently dropped.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

FINAL = frozenset({"completed", "denied", "failed", "cancelled"})


@dataclass
class ChargeRequest:
    request_id: str
    wanted_cp: str | None
    duration_s: float | None
    deadline: float  # wall clock: answer from Central expected before this
    state: str = "pending"
    created_at: float = field(default_factory=time.time)
    cp_id: str | None = None
    reservation_id: str | None = None
    session_id: str | None = None
    reason: str | None = None
    telemetry: dict[str, Any] | None = None
    ticket: dict[str, Any] | None = None
    history: list[tuple[float, str]] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def move(self, state: str, reason: str | None = None) -> None:
        self.state = state
        if reason is not None:
            self.reason = reason
        self.history.append((round(time.time(), 3), state))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["final"] = self.final
        return data
