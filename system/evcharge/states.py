"""Charging point states and the one table of allowed transitions.

Every state change in Central goes through ``next_state``; nothing else writes a CP's state. The
table is data, so the tests can check it exhaustively and a reader sees the whole life of a CP here.

Design choices worth knowing:
- ``stopped`` is an operator decision and wins over health: a stopped CP stays stopped when its
  engine fails or its monitor disappears, and only ``resume`` takes it out.
- Health events that do not change anything (``engine_ok`` on an available CP) are listed as
  self-loops, so "allowed but no-op" is distinguishable from "not allowed".
"""

from __future__ import annotations

from enum import StrEnum


class CpState(StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"
    CHARGING = "charging"
    STOPPED = "stopped"
    FAULT = "fault"
    DISCONNECTED = "disconnected"


class CpEvent(StrEnum):
    RESERVE = "reserve"  # Central grants a reservation
    RELEASE = "release"  # reservation cancelled or expired (TTL)
    START = "start"  # driver's charging_started accepted: a session begins
    FINISH = "finish"  # session closed (completion, driver stop)
    STOP = "stop"  # operator: out of service
    RESUME = "resume"  # operator: back in service
    ENGINE_KO = "engine_ko"  # monitor reports its engine failing
    ENGINE_OK = "engine_ok"  # monitor reports a healthy engine
    MONITOR_LOST = "monitor_lost"  # no heartbeat within the timeout


class InvalidTransition(ValueError):
    def __init__(self, state: CpState, event: CpEvent) -> None:
        super().__init__(f"event {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


S, E = CpState, CpEvent

TRANSITIONS: dict[CpState, dict[CpEvent, CpState]] = {
    S.AVAILABLE: {
        E.RESERVE: S.RESERVED,
        E.STOP: S.STOPPED,
        E.ENGINE_KO: S.FAULT,
        E.ENGINE_OK: S.AVAILABLE,
        E.MONITOR_LOST: S.DISCONNECTED,
        E.RESUME: S.AVAILABLE,
    },
    S.RESERVED: {
        E.START: S.CHARGING,
        E.RELEASE: S.AVAILABLE,
        E.STOP: S.STOPPED,
        E.ENGINE_KO: S.FAULT,
        E.ENGINE_OK: S.RESERVED,
        E.MONITOR_LOST: S.DISCONNECTED,
    },
    S.CHARGING: {
        E.FINISH: S.AVAILABLE,
        E.STOP: S.STOPPED,
        E.ENGINE_KO: S.FAULT,
        E.ENGINE_OK: S.CHARGING,
        E.MONITOR_LOST: S.DISCONNECTED,
    },
    S.STOPPED: {
        E.RESUME: S.AVAILABLE,
        E.STOP: S.STOPPED,
        E.ENGINE_KO: S.STOPPED,
        E.ENGINE_OK: S.STOPPED,
        E.MONITOR_LOST: S.STOPPED,
    },
    S.FAULT: {
        E.ENGINE_OK: S.AVAILABLE,
        E.ENGINE_KO: S.FAULT,
        E.STOP: S.STOPPED,
        E.MONITOR_LOST: S.DISCONNECTED,
    },
    S.DISCONNECTED: {
        E.ENGINE_OK: S.AVAILABLE,
        E.ENGINE_KO: S.FAULT,
        E.STOP: S.STOPPED,
        E.MONITOR_LOST: S.DISCONNECTED,
    },
}

# States in which a CP holds a reservation or a session that must be closed when it leaves them.
BUSY = frozenset({S.RESERVED, S.CHARGING})

# Why a CP cannot be reserved, as a denial reason a driver can read.
UNAVAILABLE_REASON: dict[CpState, str] = {
    S.RESERVED: "cp_busy",
    S.CHARGING: "cp_busy",
    S.STOPPED: "cp_stopped",
    S.FAULT: "cp_faulty",
    S.DISCONNECTED: "cp_disconnected",
}


def next_state(state: CpState, event: CpEvent) -> CpState:
    """The state after ``event``, or InvalidTransition if the table does not allow it."""
    try:
        return TRANSITIONS[state][event]
    except KeyError:
        raise InvalidTransition(state, event) from None
