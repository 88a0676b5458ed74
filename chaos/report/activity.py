"""The timeline's third panel: what each process and each client was doing, and what got rejected.

- a lane per process a fault took down or froze (its target: a service, or brokers), down or
  paused for the fault's window (``ProcessFault.leaves``), up otherwise;
- a lane per client: each request from its invoke to its outcome (ok, failed, unknown, or still
  pending at the end);
- marks where a message fault wrote its records, with how many were dead-lettered.

Built from the history alone, like the rest of the timeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from chaos.checks.views import fault_windows, operations
from chaos.core.history import Event

COLORS = {"down": "#c62828", "paused": "#f9a825", "ok": "#43a047", "fail": "#e53935", "unknown": "#8e24aa",
          "pending": "#9e9e9e"}
LABELS = {"down": "process down", "paused": "process paused", "ok": "request ok", "fail": "request failed",
          "unknown": "request unknown", "pending": "request pending"}


@dataclass
class Lane:
    label: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    """(start, end, what): what is a key of ``COLORS``."""


@dataclass(frozen=True)
class Mark:
    t: float
    label: str


def leaves(kind: str) -> str | None:
    """What a fault kind leaves its target in (``down``, ``paused``), or None if it is no process fault."""
    from chaos.faults.process import ProcessFault
    from chaos.faults.registry import fault_class

    try:
        cls = fault_class(kind)
    except (KeyError, ValueError):
        return None
    return cls.leaves if issubclass(cls, ProcessFault) else None


def activity(events: Sequence[Event], end: float) -> tuple[list[Lane], list[Mark]]:
    """The process lanes (in order of their first fault), then the client lanes (by name), and the marks."""
    windows = fault_windows(events)
    processes: dict[str, Lane] = {}
    for window in windows:
        state = leaves(window.kind)
        if state is not None:
            lane = processes.setdefault(window.target, Lane(window.target))
            lane.segments.append((window.start, window.end if window.end is not None else end, state))
    clients: dict[str, Lane] = {}
    for op in operations(events):
        lane = clients.setdefault(op.process, Lane(op.process))
        lane.segments.append((op.invoke_t, op.end_t if op.end_t is not None else end, op.outcome or "pending"))
    lettered = {(e.get("topic"), e.get("partition"), e.get("offset")) for e in events if e["type"] == "dead_letter"}
    marks = []
    for window in windows:
        if window.injected:
            count = sum(1 for r in window.injected if (r.get("topic"), r.get("partition"), r.get("offset")) in lettered)
            marks.append(Mark(window.start, f"{count}/{len(window.injected)} dead-lettered"))
    return [*processes.values(), *(clients[name] for name in sorted(clients))], marks


def used(lanes: Iterable[Lane]) -> list[str]:
    """The segment kinds drawn, in legend order."""
    seen = {what for lane in lanes for _, _, what in lane.segments}
    return [what for what in COLORS if what in seen]
