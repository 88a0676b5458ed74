"""The one base class of every fault: parsed and validated on creation, applied, healed by an undo stack.

Why an undo stack: a fault is a sequence of small actions (add a toxic on each proxy, stop each
broker), and any of them can fail. Each action that succeeds pushes how to undo it, so that

- ``heal()`` undoes exactly what this fault did, newest first, and nothing else (another fault's
  toxic on the same proxy stays);
- ``apply()`` failing midway undoes what it had done before raising: nothing is left behind;
- ``heal()`` is idempotent: a second call finds the stack empty; an undo that failed stays on the
  stack, so a later ``heal()`` retries just that one.

A subclass sets ``kind``, ``summary`` and ``PARAMS``, parses its target in ``setup()``, names itself
in ``describe()`` and implements ``_apply()`` with ``self.on_heal(...)`` after (or before) each step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from chaos.faults.params import FaultSpecError, Param, validate_params

if TYPE_CHECKING:
    from chaos.core.history import History
    from chaos.faults.context import FaultContext

__all__ = ["BaseFault", "Fault", "FaultError", "FaultSpecError", "Param", "Undo", "applied"]


class Fault(Protocol):
    """What runs a fault needs of it: names for reports, and apply/heal (``BaseFault`` is one)."""

    name: str
    kind: str
    target: str

    def apply(self) -> None: ...

    def heal(self) -> None: ...


class FaultError(RuntimeError):
    """Applying or healing a fault failed; the message says what and what (if anything) is still broken."""


class Undo:
    """One pending undo action: a description for error messages and the call."""

    def __init__(self, what: str, call: Callable[[], object]) -> None:
        self.what, self.call = what, call


class BaseFault:
    """A fault of one ``kind`` on one ``target``; ``name`` is its human label for reports and verdicts."""

    kind: str = ""
    summary: ClassVar[str] = ""
    PARAMS: ClassVar[Mapping[str, Param]] = {}

    def __init__(self, ctx: FaultContext, target: str, params: Mapping[str, Any] | None = None) -> None:
        if not isinstance(target, str) or not target.strip():
            raise FaultSpecError(f"fault {self.kind!r} needs a target, got {target!r}")
        self.ctx = ctx
        self.target = target.strip()
        self.params = validate_params(self.kind, self.PARAMS, params)
        self._undo: list[Undo] = []
        self._lock = threading.RLock()
        self.active = False
        self.setup()
        self.name = self.describe()

    # -- for subclasses --------------------------------------------------------------------------
    def setup(self) -> None:
        """Parse and validate ``self.target`` (raise ``FaultSpecError``); nothing may be broken here."""

    def describe(self) -> str:
        """The human label, e.g. ``driver link timeout`` or ``broker 1 kill``."""
        return f"{self.target} {self.kind}"

    def _apply(self) -> None:
        raise NotImplementedError

    def evidence(self) -> dict[str, Any]:
        """What this fault did that a check must know, recorded with its window's end (e.g. the
        records a message fault injected); nothing by default."""
        return {}

    def on_heal(self, what: str, call: Callable[[], object]) -> Undo:
        """Register how to undo a step; heals run newest first."""
        undo = Undo(what, call)
        self._undo.append(undo)
        return undo

    def forget(self, undo: Undo) -> None:
        """Drop an undo that no longer applies (a step that is only undone if ``apply`` fails)."""
        if undo in self._undo:
            self._undo.remove(undo)

    # -- the Fault protocol ----------------------------------------------------------------------
    @property
    def label(self) -> str:
        return self.name

    def apply(self) -> None:
        """Break the target; if any step fails, undo the steps before it and raise ``FaultError``."""
        with self._lock:
            if self.active:
                raise FaultError(f"{self.name}: already applied; heal it first")
            self.active = True
            try:
                self._apply()
            except BaseException as exc:
                leftover = ""
                try:
                    self.heal()
                except FaultError as undo_error:
                    leftover = f"; undoing it also failed: {undo_error}"
                if not isinstance(exc, Exception):
                    raise  # Ctrl-C and friends: undone, now let them through unchanged
                raise FaultError(f"{self.name}: apply failed: {type(exc).__name__}: {exc}{leftover}") from exc

    def heal(self) -> None:
        """Undo everything ``apply`` did, newest first; safe to call twice or before ``apply``."""
        with self._lock:
            errors = []
            for undo in reversed(list(self._undo)):
                try:
                    undo.call()
                except Exception as exc:
                    errors.append(f"{undo.what}: {type(exc).__name__}: {exc}")
                    continue
                self._undo.remove(undo)
            if errors:
                raise FaultError(f"{self.name}: heal incomplete (heal again to retry): " + "; ".join(errors))
            self.active = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} on {self.target!r} {self.params} active={self.active}>"


@contextmanager
def applied(
    fault: BaseFault | Fault, history: History | None = None, *, name: str | None = None,
    params: Mapping[str, Any] | None = None, **extra: Any,
) -> Iterator[Any]:
    """``with applied(fault, history):`` the fault is active inside, healed in ``finally``, and, with a
    history, recorded as a fault window (a failed heal is recorded in the window, then raised).

    This is the one place a fault window is recorded: a scenario's ``with scenario.fault(...)`` and
    the nemesis runner's timed steps both go through it. ``name`` and ``params`` default to the
    fault's own; ``extra`` fields go into the window's start event (the runner adds ``step_at``).
    """
    window = None
    if history is not None:
        recorded = dict(params) if params is not None else dict(getattr(fault, "params", {}))
        window = history.fault_start(name or fault.name, fault.kind, fault.target, recorded, **extra)
    error: str | None = None
    try:
        fault.apply()
        yield fault
    finally:
        try:
            fault.heal()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if history is not None and window is not None:
                evidence = fault.evidence() if isinstance(fault, BaseFault) else {}
                history.fault_end(window, error=error, **evidence)
