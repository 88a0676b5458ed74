"""Typed views derived from a raw history: operations, fault windows and state intervals.

Checks, measures and reports all need the same pairings (an invoke with its completion, a fault
start with its end, consecutive state samples into intervals); doing them once here keeps each
check a few lines of rule and keeps the history file itself a plain, append-only log.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos.core.history import Event, History


def field_of(event: Mapping[str, Any], name: str) -> Any:
    """A field of an event, else the same key in its ``value`` when that is an object.

    Clients may put ``resource``/``holder``/``session`` either on the event or inside the operation's
    value; the checks accept both so that a system's client code need not follow one shape.
    """
    if name in event:
        return event[name]
    value = event.get("value")
    if isinstance(value, Mapping):
        return value.get(name)
    return None


@dataclass(frozen=True)
class FaultWindow:
    """One applied fault: ``end`` is None if the history has no heal for it (the run was cut short)."""

    id: str
    name: str
    kind: str
    target: str
    start: float
    end: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    injected: tuple[Mapping[str, Any], ...] = ()
    """The records a message fault wrote (topic, partition, offset, expect, note), from its evidence."""

    def overlaps(self, start: float, end: float) -> bool:
        """True if the fault was active at some instant of ``[start, end]``."""
        return self.start <= end and (self.end is None or self.end >= start)


def covered(windows: Iterable[FaultWindow], start: float, end: float) -> float:
    """Seconds of ``[start, end]`` under at least one of ``windows`` (overlaps merged; an unhealed
    window lasts to ``end``)."""
    spans = sorted((max(start, w.start), min(end, w.end if w.end is not None else end)) for w in windows)
    total, reach = 0.0, start
    for low, high in spans:
        low = max(low, reach)
        if high > low:
            total += high - low
            reach = high
    return total


@dataclass(frozen=True)
class Op:
    """One client operation: its invoke and, if it completed, how and when."""

    id: int
    process: str
    f: str
    invoke_t: float
    value: Any = None
    resource: str | None = None
    outcome: str | None = None
    end_t: float | None = None
    result: Any = None
    error: str | None = None
    invoke: Mapping[str, Any] = field(default_factory=dict)
    completion: Mapping[str, Any] | None = None

    @property
    def latency(self) -> float | None:
        return None if self.end_t is None else self.end_t - self.invoke_t

    def get(self, name: str) -> Any:
        """A field from the completion first (what the client learned), else from the invoke."""
        found = field_of(self.completion, name) if self.completion is not None else None
        return found if found is not None else field_of(self.invoke, name)


@dataclass(frozen=True)
class StateInterval:
    """A resource in one state from ``start`` until ``end`` (None: still in it when the history ends)."""

    resource: str
    state: str
    start: float
    end: float | None = None

    def duration(self, history_end: float) -> float:
        return (self.end if self.end is not None else history_end) - self.start


def fault_windows(history: History | Iterable[Event]) -> list[FaultWindow]:
    """Every fault window in start order."""
    starts: dict[str, Event] = {}
    ends: dict[str, Event] = {}
    for event in history:
        if event["type"] == "fault_start":
            starts[event["window"]] = event
        elif event["type"] == "fault_end":
            ends[event["window"]] = event
    windows = []
    for window, start in starts.items():
        end = ends.get(window)
        windows.append(
            FaultWindow(
                id=window,
                name=start.get("name", window),
                kind=start.get("kind", ""),
                target=start.get("target", ""),
                start=start["t"],
                end=None if end is None else end["t"],
                params=start.get("params") or {},
                error=None if end is None else end.get("error"),
                injected=tuple((end or {}).get("injected") or ()),
            )
        )
    return sorted(windows, key=lambda w: w.start)


def operations(history: History | Iterable[Event]) -> list[Op]:
    """Every invoked operation, paired with its completion, in invoke order."""
    invokes: dict[int, Event] = {}
    completions: dict[int, Event] = {}
    for event in history:
        if event["type"] == "invoke":
            invokes[event["op"]] = event
        elif event["type"] in ("ok", "fail", "unknown"):
            completions[event["op"]] = event
    ops = []
    for op_id, inv in invokes.items():
        done = completions.get(op_id)
        resource = inv.get("resource") if done is None else done.get("resource", inv.get("resource"))
        ops.append(
            Op(
                id=op_id,
                process=inv.get("process", ""),
                f=inv.get("f", ""),
                invoke_t=inv["t"],
                value=inv.get("value"),
                resource=resource,
                outcome=None if done is None else done["type"],
                end_t=None if done is None else done["t"],
                result=None if done is None else done.get("value"),
                error=None if done is None else done.get("error"),
                invoke=inv,
                completion=done,
            )
        )
    return sorted(ops, key=lambda o: (o.invoke_t, o.id))


def state_intervals(history: History | Iterable[Event]) -> dict[str, list[StateInterval]]:
    """Per resource, the consecutive states seen by the sampler.

    A state is assumed to hold from the sample that first saw it until the sample that saw it
    change (so durations are exact to one sampling interval). A keyframe that omits a resource, or a
    delta that lists it as ``gone``, ends its current interval.
    """
    current: dict[str, StateInterval] = {}
    done: dict[str, list[StateInterval]] = {}

    def close(resource: str, t: float) -> None:
        interval = current.pop(resource)
        done.setdefault(resource, []).append(StateInterval(resource, interval.state, interval.start, t))

    for event in history:
        if event["type"] != "state":
            continue
        t, states = event["t"], event.get("states", {})
        ended = set(current) - set(states) if event.get("keyframe") else set(event.get("gone", ()))
        for resource in sorted(ended & set(current)):
            close(resource, t)
        for resource, state in states.items():
            if resource in current and current[resource].state == state:
                continue
            if resource in current:
                close(resource, t)
            current[resource] = StateInterval(resource, state, t)
    for resource, interval in current.items():
        done.setdefault(resource, []).append(interval)
    return done


@dataclass(frozen=True)
class Marker:
    """Something that signals a fact (an acquisition, a ticket): a plain event or an operation.

    Several rules accept either form ("the system wrote a ``ticket`` event" or "a client's
    ``get_ticket`` operation returned ok"); a marker hides the difference. ``t`` is when it was
    recorded (an operation's completion), ``first_t`` the earliest it may have taken effect (its invoke).
    """

    t: float
    first_t: float
    source: Op | Mapping[str, Any]

    def get(self, name: str) -> Any:
        return self.source.get(name) if isinstance(self.source, Op) else field_of(self.source, name)

    @property
    def process(self) -> str | None:
        return self.source.process if isinstance(self.source, Op) else self.source.get("process")


def markers(
    history: History, types: Iterable[str], ops: Iterable[str], outcomes: Iterable[str] = ("ok",)
) -> list[Marker]:
    """Events of one of ``types``, plus operations named in ``ops`` that ended with one of ``outcomes``."""
    wanted_types, wanted_ops, wanted_outcomes = set(types), set(ops), set(outcomes)
    found = [Marker(e["t"], e["t"], e) for e in history if e["type"] in wanted_types]
    if wanted_ops:
        found += [
            Marker(op.end_t, op.invoke_t, op)
            for op in operations(history)
            if op.f in wanted_ops and op.outcome in wanted_outcomes and op.end_t is not None
        ]
    return sorted(found, key=lambda m: m.t)


def injected_records(
    history: History | Iterable[Event], expects: Collection[str],
) -> list[tuple[FaultWindow, Mapping[str, Any]]]:
    """Every record a message fault injected whose ``expect`` is one of ``expects``, with its window."""
    return [(window, record) for window in fault_windows(history) for record in window.injected
            if record.get("expect") in expects]


def missing_evidence(history: History | Iterable[Event], what: str) -> str | None:
    """Why the harness could not gather ``what`` at the end of the run (an ``evidence_error``), if it could not."""
    errors = [e["error"] for e in history if e["type"] == "evidence_error" and e.get("what") == what]
    return errors[-1] if errors else None
