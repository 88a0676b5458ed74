"""Runs a schedule against real faults, recording every window in the history, healing in ``finally``.

The runner knows nothing about what a fault does: a factory turns (kind, target, params) into an
object with ``apply()`` and ``heal()``. Its one hard promise is that whatever it applied is healed
when it returns, however it returns (a fault that cannot be applied, a heal that raises, a stop
from another thread, Ctrl-C), because a fault left behind poisons every later scenario that shares
the broker. It records the planned schedule and the schedule that actually ran (real offsets and
durations) so a report shows what happened rather than what was hoped for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from chaos.core.history import History
from chaos.faults.base import Fault, applied
from chaos.nemesis.schedule import HEAL_ALL, Schedule, Step

FaultFactory = Callable[[str, str, Mapping[str, Any]], Fault]
"""``make_fault(kind, target, params) -> Fault``; raises (e.g. KeyError) for an unknown kind."""

Wait = Callable[[float], bool]
"""Sleeps up to the given seconds; returns True if the run should stop now."""


class NemesisError(RuntimeError):
    """A fault could not be made, applied or healed (everything that was applied has been healed)."""


@dataclass
class _Active:
    step: Step
    fault: Fault
    window: AbstractContextManager[Any]
    applied_at: float


class ScheduleRunner:
    """Executes one schedule; ``run()`` blocks, ``start()`` runs it in a thread, ``stop()`` ends it early."""

    def __init__(
        self,
        schedule: Schedule,
        make_fault: FaultFactory,
        history: History,
        wait: Wait | None = None,
        wait_quiet: bool = True,
    ) -> None:
        self.schedule, self.make_fault, self.history = schedule, make_fault, history
        self.wait_quiet = wait_quiet
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._active: list[_Active] = []
        self._ran: list[Step] = []
        self._errors: list[str] = []
        self._t0 = 0.0
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.ran: Schedule | None = None

    # -- control ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask a running schedule to stop: it heals what is active and returns promptly."""
        self._stop.set()

    def start(self) -> ScheduleRunner:
        """Run in a background thread; ``join()`` waits and re-raises the run's error."""

        def target() -> None:
            try:
                self.run()
            except BaseException as exc:
                self.error = exc

        self._thread = threading.Thread(target=target, name="nemesis", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> Schedule | None:
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.ran

    # -- the run ---------------------------------------------------------------------------------
    def plan(self) -> list[tuple[float, int, int]]:
        """(offset, order, step index): heals and heal-alls before applies at the same instant."""
        actions = []
        for index, step in enumerate(self.schedule.steps):
            if step.kind == HEAL_ALL:
                actions.append((step.at, 0, index))
            else:
                actions.append((step.at, 1, index))
                if step.heal_at is not None:
                    actions.append((step.heal_at, 0, index))
        return sorted(actions)

    def run(self) -> Schedule:
        """Execute the schedule; returns the schedule that ran (also recorded in the history)."""
        self.history.record("schedule", phase="planned", schedule=self.schedule.to_dict())
        self._t0 = self.history.clock.now()
        try:
            for offset, order, index in self.plan():
                if self._sleep_until(offset):
                    break
                step = self.schedule.steps[index]
                if step.kind == HEAL_ALL:
                    self._heal_all()
                elif order == 0:
                    self._heal_step(step)
                else:
                    self._apply(step)
            else:
                self._heal_all()  # open-ended faults with no heal-all after them: quiet means nothing broken
                if self.wait_quiet:  # quiet after the heals as they happened: a heal may take longer than planned
                    self._sleep_until(max(self.schedule.end, self._now() + self.schedule.quiet))
        finally:
            self._heal_all()
            self.ran = Schedule(tuple(self._ran), self.schedule.quiet, self.schedule.seed, self.schedule.name)
            self.history.record("schedule", phase="ran", schedule=self.ran.to_dict(), errors=self._errors)
        if self._errors:
            raise NemesisError("; ".join(self._errors))
        return self.ran

    def _now(self) -> float:
        return self.history.clock.now() - self._t0

    def _sleep_until(self, offset: float) -> bool:
        """Wait for the offset; True if asked to stop."""
        if self._stop.is_set():
            return True
        delay = offset - self._now()
        return bool(self._wait(delay)) if delay > 0 else False

    def _apply(self, step: Step) -> None:
        try:
            fault = self.make_fault(step.kind, step.target, dict(step.params))
        except Exception as exc:
            raise NemesisError(f"cannot make fault {step.kind!r} on {step.target!r}: {exc}") from exc
        applied_at = self._now()
        window = applied(fault, self.history, name=step.name or fault.name, params=step.params, step_at=step.at)
        try:
            window.__enter__()  # records the window, applies; held open until the step's heal
        except Exception as exc:  # applied() has healed what it did and closed the window
            self._record_ran(step, applied_at)
            self._errors.append(f"applying {step.label!r} failed: {type(exc).__name__}: {exc}")
            raise NemesisError(self._errors[-1]) from exc
        self._active.append(_Active(step, fault, window, applied_at))

    def _heal_step(self, step: Step) -> None:
        for active in [a for a in self._active if a.step is step]:
            self._heal(active)

    def _heal_all(self) -> None:
        """Heal everything still active, newest first, even if some heals fail or are interrupted."""
        interrupted: BaseException | None = None
        for active in reversed(list(self._active)):
            try:
                self._heal(active)
            except BaseException as exc:  # e.g. Ctrl-C during one heal: still heal the others
                interrupted = interrupted or exc
        if interrupted is not None:
            raise interrupted

    def _heal(self, active: _Active) -> None:
        self._active.remove(active)
        try:
            active.window.__exit__(None, None, None)  # heals and closes the window (with the heal's error)
        except Exception as exc:
            self._errors.append(f"healing {active.step.label!r} failed: {type(exc).__name__}: {exc}")
        finally:
            self._record_ran(active.step, active.applied_at)

    def _record_ran(self, step: Step, applied_at: float) -> None:
        """The step as it really ran: its real offset and duration."""
        healed_at = self._now()
        self._ran.append(
            Step(round(applied_at, 3), step.kind, step.target, round(healed_at - applied_at, 3) or 0.001,
                 dict(step.params), step.name)
        )
