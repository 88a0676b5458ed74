"""Who may send what: a message's ``source`` names its sender, and the sender must be one the
message type allows, named by the payload where the payload names someone.

``source`` is ``central``, ``driver:<id>``, ``engine:<cp>``, ``monitor:<cp>`` or ``operator:<id>``.
The key a source signs with is its *principal*'s: an engine and a monitor speak for their CP, so
both use the CP's key (one CP, one registration, as the original statement has it).
"""

from __future__ import annotations

from dataclasses import dataclass

from evcharge.messages import Message

ANY = "*"

FROM_CENTRAL = (("central", None),)
SENDERS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "authorization_request": (("driver", "driver_id"),),
    "charging_started": (("driver", "driver_id"),),
    "stop_request": (("driver", "driver_id"),),
    "cp_list_request": (("driver", "driver_id"),),
    "telemetry": (("engine", "cp_id"), ("central", None)),  # Central relays readings to the driver
    "charging_completed": (("engine", "cp_id"),),
    "heartbeat": (("monitor", "cp_id"),),
    "cp_command": (("operator", None),),
    "dead_letter": ((ANY, None),),  # every consumer reports what it rejected
    **{kind: FROM_CENTRAL for kind in (
        "authorization_response", "cp_list", "session_started", "session_denied", "reservation_released",
        "start_supply", "stop_supply", "ticket", "clock_tick", "command_result")},
}
"""Message type -> the (role, payload field naming that role's id) that may send it."""

KEY_OWNER = {"engine": "cp", "monitor": "cp"}
"""Roles that sign with another principal's key (their CP's)."""


@dataclass(frozen=True)
class Principal:
    """Whose key signs: ``kind`` is ``cp``, ``driver``, ``operator`` or ``central``."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def split_source(source: str) -> tuple[str, str]:
    """(role, id) of a ``source``: ``central`` is its own id."""
    role, _, ident = source.partition(":")
    return role, ident or role


def principal_of(source: str) -> Principal:
    role, ident = split_source(source)
    return Principal(KEY_OWNER.get(role, role), ident)


def claim_problem(message: Message) -> str | None:
    """Why ``message``'s sender may not send it as it is, or None when it may."""
    role, ident = split_source(message.envelope.source)
    allowed = SENDERS.get(message.type, ())
    for sender_role, field in allowed:
        if sender_role not in (role, ANY):
            continue
        named = getattr(message.body, field, None) if field else None
        if field is None or named == ident:
            return None
        return f"{message.envelope.source} may not send a {message.type} for {field} {named!r}"
    roles = " or ".join(sorted({r for r, _ in allowed})) or "nobody"
    return f"{message.envelope.source} may not send {message.type} (only {roles} may)"
