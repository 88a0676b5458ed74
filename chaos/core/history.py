"""A JSON-lines history of one test: what clients did and saw, what broke, and what state things were in.

Following Jepsen, checks never watch the system live; they judge a recorded history afterwards, so
the same checks run in a test and offline (``evchaos check HISTORY``) and a failure can be studied
from the file alone. Every event is one JSON object per line, written and flushed as it happens (a
killed run still leaves a readable file), and stamped from one ``Clock``:

- ``t``: seconds since the history started (monotonic base: what checks compare);
- ``at``: the absolute ISO time (what a human reads).

Event types (``type``) and their fields:

- ``meta``: first line; ``start`` (ISO), ``seed``, ``name``, ``invariants`` (the parameters the
  checks should use by default) and anything else the caller gives.
- ``invoke`` / ``ok`` / ``fail`` / ``unknown``: a client operation. ``op`` (an id shared by the invoke
  and its completion), ``process`` (the client), ``f`` (the operation's name, Jepsen's ``:f``),
  ``value``, ``resource`` if known, ``error`` on fail/unknown. ``unknown`` means the client cannot
  tell whether it took effect (a timeout), which a check must treat differently from a clear ``fail``.
- ``fault_start`` / ``fault_end``: ``window`` (an id shared by both), ``name``, ``kind``, ``target``,
  ``params``; ``error`` on an end if healing failed.
- ``state``: ``states`` (resource -> state); ``keyframe`` true if the map is complete, otherwise it
  holds only the changes and ``gone`` lists resources that disappeared (``chaos.core.sampler`` writes them).
- ``schedule``: the nemesis schedule, ``phase`` ``planned`` or ``ran``.
- ``note``: free ``text`` (and any other fields); ``end``: the history was closed.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from chaos.core.clock import Clock

Event = dict[str, Any]

OUTCOMES = ("ok", "fail", "unknown")

DEAD_LETTER = "dead-letter"
IGNORED = "ignored"
REFUSED = "refused"
DEAD_LETTERED = frozenset({DEAD_LETTER, REFUSED})
"""What the system must do with a record a message fault injected (its ``expect``, in the fault's
evidence): reject it with a dead letter, ignore it as already seen, or refuse it as forged (a dead
letter and an audit entry). Here, in the history's vocabulary, because faults write it and checks
read it (``chaos.faults.messages`` says what each means)."""


class HistoryError(ValueError):
    """A history file cannot be read, or an operation was completed twice / never invoked."""


class History:
    """A thread-safe, append-only event log, optionally mirrored to a JSON-lines file."""

    def __init__(
        self,
        path: Path | str | None = None,
        clock: Clock | None = None,
        **meta: Any,
    ) -> None:
        self.clock = clock or Clock()
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._ops: dict[int, Event] = {}
        self._op_ids = itertools.count(1)
        self._window_ids = itertools.count(1)
        self._open_windows: dict[str, Event] = {}
        self._file: IO[str] | None = None
        self.closed = False
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self.record("meta", start=self.clock.iso(0.0), **meta)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def events(self) -> list[Event]:
        """A snapshot copy: safe to iterate while other threads keep recording."""
        with self._lock:
            return list(self._events)

    @property
    def meta(self) -> Event:
        with self._lock:
            return self._events[0] if self._events else {}

    @property
    def seed(self) -> int | None:
        return self.meta.get("seed")

    @property
    def end(self) -> float:
        """The last recorded instant: where intervals still open at the end of the test stop."""
        with self._lock:
            return max((e["t"] for e in self._events), default=0.0)  # events may be placed back in time

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    # -- writing ---------------------------------------------------------------------------------
    def record(self, type: str, *, t: float | None = None, **fields: Any) -> Event:
        """Append one event stamped now; the generic form every helper below goes through.

        ``t`` stamps an event at another moment: for facts read afterwards from the system's own
        records (a session's start and end in its database), placed at the time they happened.
        """
        with self._lock:
            t = round(self.clock.now() if t is None else t, 6)
            event: Event = {"t": t, "at": self.clock.iso(t), "type": type, **fields}
            self._append(event)
            return event

    def _append(self, event: Event) -> None:
        if self.closed:
            raise HistoryError(f"history {self.path or '(memory)'} is closed; cannot record {event['type']}")
        self._events.append(event)
        if self._file is not None:
            self._file.write(json.dumps(event, default=str, separators=(",", ":")) + "\n")
            self._file.flush()

    def invoke(
        self, process: str, f: str, value: Any = None, resource: str | None = None, **extra: Any
    ) -> int:
        """Record that ``process`` starts operation ``f``; returns the op id to complete it with."""
        op_id = next(self._op_ids)
        fields = {"op": op_id, "process": process, "f": f, "value": value, **extra}
        if resource is not None:
            fields["resource"] = resource
        self._ops[op_id] = self.record("invoke", **fields)
        return op_id

    def complete(
        self, op_id: int, outcome: str, value: Any = None, error: str | None = None, **extra: Any
    ) -> Event:
        """Record the outcome of an invoked operation, repeating its process, name and resource."""
        if outcome not in OUTCOMES:
            raise HistoryError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        invoke = self._ops.pop(op_id, None)
        if invoke is None:
            raise HistoryError(f"operation {op_id} was never invoked or is already completed")
        fields: dict[str, Any] = {"op": op_id, "process": invoke["process"], "f": invoke["f"], "value": value}
        if "resource" in invoke or "resource" in extra:
            fields["resource"] = extra.pop("resource", invoke.get("resource"))
        if error is not None:
            fields["error"] = error
        return self.record(outcome, **fields, **extra)

    def ok(self, op_id: int, value: Any = None, **extra: Any) -> Event:
        return self.complete(op_id, "ok", value, **extra)

    def fail(self, op_id: int, error: str, value: Any = None, **extra: Any) -> Event:
        """A clear failure: the operation certainly did not take effect."""
        return self.complete(op_id, "fail", value, error=error, **extra)

    def unknown(self, op_id: int, error: str, value: Any = None, **extra: Any) -> Event:
        """An indeterminate outcome (timeout, lost connection): it may or may not have taken effect."""
        return self.complete(op_id, "unknown", value, error=error, **extra)

    @contextmanager
    def operation(
        self, process: str, f: str, value: Any = None, resource: str | None = None
    ) -> Iterator[Operation]:
        """``with history.operation("client", "write", 3) as op: op.ok(...)``.

        An exception escaping the block records ``unknown`` (the client cannot know what happened)
        and propagates; leaving the block without an outcome also records ``unknown``.
        """
        handle = Operation(self, self.invoke(process, f, value, resource))
        try:
            yield handle
        except BaseException as exc:
            if not handle.done:
                handle.unknown(f"{type(exc).__name__}: {exc}")
            raise
        if not handle.done:
            handle.unknown("the client recorded no outcome")

    def fault_start(
        self, name: str, kind: str, target: str, params: Mapping[str, Any] | None = None, **extra: Any
    ) -> str:
        """Record a fault being applied; returns the window id to end it with."""
        window = f"w{next(self._window_ids)}"
        event = self.record(
            "fault_start",
            window=window,
            name=name,
            kind=kind,
            target=target,
            params=dict(params or {}),
            **extra,
        )
        self._open_windows[window] = event
        return window

    def open_faults(self) -> list[tuple[str, float]]:
        """(name, since) of every fault applied and not healed yet: what a live view shows (from
        another thread: the windows are copied in one step, never iterated while they change)."""
        windows = list(self._open_windows.values())
        return [(str(e["name"]), float(e["t"])) for e in windows]

    def fault_end(self, window: str, error: str | None = None, **extra: Any) -> Event:
        """Record a fault healed (or a failed heal, with ``error``)."""
        start = self._open_windows.pop(window, None)
        if start is None:
            raise HistoryError(f"fault window {window!r} was never started or is already ended")
        fields = {"window": window, "name": start["name"], "kind": start["kind"], "target": start["target"]}
        if error is not None:
            fields["error"] = error
        return self.record("fault_end", **fields, **extra)

    def state(self, states: Mapping[str, str], keyframe: bool = True, gone: list[str] | None = None) -> Event:
        fields: dict[str, Any] = {"states": dict(states), "keyframe": keyframe}
        if gone:
            fields["gone"] = sorted(gone)
        return self.record("state", **fields)

    def note(self, text: str, **fields: Any) -> Event:
        return self.record("note", text=text, **fields)

    def close(self) -> None:
        """Record ``end`` and close the file; idempotent."""
        if self.closed:
            return
        self.record("end")
        with self._lock:
            self.closed = True
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def from_events(cls, events: list[Event]) -> History:
        """A read-only history over already-recorded events (loaded, or crafted by a test)."""
        if not events or events[0].get("type") != "meta" or "start" not in events[0]:
            raise HistoryError("a history must begin with a 'meta' event that has a 'start' time")
        history = cls.__new__(cls)
        history.clock = Clock.from_iso(events[0]["start"])
        history.path = None
        history._lock = threading.Lock()
        history._events = list(events)
        history._ops, history._open_windows, history._file = {}, {}, None
        history._op_ids = itertools.count(1 + max((e.get("op", 0) for e in events), default=0))
        history._window_ids = itertools.count(1 + sum(e["type"] == "fault_start" for e in events))
        history.closed = True
        return history

    @classmethod
    def load(cls, path: Path | str) -> History:
        """Read a history file back; a torn last line (the run was killed mid-write) is dropped."""
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise HistoryError(f"cannot read history {path}: {exc.strerror or exc}") from exc
        events: list[Event] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                if number == len(lines):
                    break
                raise HistoryError(
                    f"{path}:{number}: not a JSON object ({exc.msg}); is this a history file?"
                ) from exc
            if not isinstance(event, dict) or "t" not in event or "type" not in event:
                raise HistoryError(
                    f"{path}:{number}: an event needs 't' and 'type' fields, got {line[:80]!r}"
                )
            events.append(event)
        try:
            history = cls.from_events(events)
        except HistoryError as exc:
            raise HistoryError(f"{path}: {exc}") from None
        history.path = path
        return history


class Operation:
    """A handle on one invoked operation, completed at most once."""

    def __init__(self, history: History, op_id: int) -> None:
        self.history, self.id, self.done = history, op_id, False

    def _complete(self, outcome: str, value: Any, error: str | None, extra: dict[str, Any]) -> None:
        self.history.complete(self.id, outcome, value, error, **extra)
        self.done = True

    def ok(self, value: Any = None, **extra: Any) -> None:
        self._complete("ok", value, None, extra)

    def fail(self, error: str, value: Any = None, **extra: Any) -> None:
        self._complete("fail", value, error, extra)

    def unknown(self, error: str, value: Any = None, **extra: Any) -> None:
        self._complete("unknown", value, error, extra)

