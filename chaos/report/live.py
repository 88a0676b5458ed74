"""A live view of a run in the console: what runs now, under which fault, for how long; how many
passed and failed; how long is left.

Each pytest process that runs scenarios (every xdist worker, or the one process) keeps a small
status file, rewritten twice a second: the test it runs, its scenarios and their open faults. The
process that reports (the xdist controller, or the one process) reads them all, counts outcomes as
reports arrive and estimates the time left from the mean duration so far. On a terminal the view is
a panel at the bottom (``rich``) with pytest's own lines scrolling above it; elsewhere (CI, a pipe)
it is a plain line every ``PLAIN_EVERY`` seconds.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLAIN_EVERY = 30.0
"""Seconds between two plain progress lines when the output is not a terminal (``EVCHAOS_LIVE_EVERY``)."""
WRITE_EVERY = 0.5
"""Seconds between two rewrites of a process's status file."""


@dataclass
class Running:
    """One process's current test, read from its status file."""

    worker: str
    test: str
    started: float
    scenarios: list[dict[str, Any]] = field(default_factory=list)


class StatusWriter:
    """Rewrites ``folder/<worker>.json`` with what ``current()`` returns, until stopped."""

    def __init__(self, folder: Path, worker: str, current: Callable[[], dict[str, Any] | None]) -> None:
        self.path = folder / f"{worker}.json"
        self.worker = worker
        self.current = current
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evchaos-live-status", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        while not self._stop.wait(WRITE_EVERY):
            self.write_now()

    def write_now(self) -> None:
        try:
            status = self.current()
        except Exception as exc:  # the view is a bystander: whatever it trips on, the run goes on
            status = {"test": "(status unavailable)", "error": f"{type(exc).__name__}: {exc}"}
        temporary = self.path.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps({"worker": self.worker, **(status or {})}))
            os.replace(temporary, self.path)  # a reader sees the old status or the new, never half
        except OSError:
            pass  # the folder went away with the run: nothing left to show


def read_running(folder: Path) -> list[Running]:
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if raw.get("test"):
            found.append(Running(raw["worker"], raw["test"], float(raw.get("started", time.time())),
                                 list(raw.get("scenarios") or [])))
    return found


@dataclass
class Progress:
    """Outcomes counted as reports arrive, and the time left estimated from them."""

    total: int
    workers: int = 1
    started: float = field(default_factory=time.monotonic)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    durations: list[float] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.passed + self.failed + self.skipped

    def record(self, outcome: str, duration: float) -> None:
        if outcome == "passed":
            self.passed += 1
        elif outcome == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
        self.durations.append(duration)

    def left(self) -> float | None:
        """Seconds left: the tests not done, at the mean duration so far, shared by the workers."""
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        return max(0, self.total - self.done) * mean / max(1, self.workers)

    def headline(self) -> str:
        left = self.left()
        eta = "estimating" if left is None else f"about {clock(left)} left"
        return (f"{self.done}/{self.total} done: {self.passed} passed, {self.failed} failed"
                f"{f', {self.skipped} skipped' if self.skipped else ''}; {clock(time.monotonic() - self.started)} "
                f"elapsed, {eta}")


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def describe(running: Running, now: float) -> str:
    """``test (scenario: fault for 3 s)``: one line per running test, for the plain view."""
    parts = []
    for scenario in running.scenarios:
        faults = ", ".join(f"{name} for {now - since:.0f} s" for name, since in scenario.get("faults") or [])
        parts.append(f"{scenario['name']}: {faults or 'no fault now'}")
    doing = "; ".join(parts) or "no scenario yet"
    return f"{running.test} [{running.worker}, {clock(now - running.started)}] {doing}"


class LiveView:
    """Shows ``progress`` and the status files of ``folder`` until stopped: a ``rich`` panel on a
    terminal, a plain line through ``write_line`` every ``PLAIN_EVERY`` s otherwise."""

    def __init__(self, folder: Path, progress: Progress, write_line: Callable[[str], None], tty: bool) -> None:
        self.folder, self.progress, self.write_line, self.tty = folder, progress, write_line, tty
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evchaos-live-view", daemon=True)
        self.live: Any = None

    def start(self, redirect: Callable[[Any], None] | None = None) -> None:
        """Start showing; ``redirect(console)`` lets the caller print above the panel (a terminal)."""
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            console = Console(stderr=False)
            self.live = Live(self.panel(), console=console, refresh_per_second=2, transient=True,
                             redirect_stdout=False, redirect_stderr=False)
            self.live.start()
            if redirect is not None:
                redirect(console)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.live is not None:
            self.live.stop()

    def _run(self) -> None:
        every = 0.5 if self.tty else float(os.environ.get("EVCHAOS_LIVE_EVERY") or PLAIN_EVERY)
        while not self._stop.wait(every):
            if self.live is not None:
                self.live.update(self.panel())
            else:
                self.plain()

    def plain(self) -> None:
        now = time.time()
        self.write_line(f"[evchaos live] {self.progress.headline()}")
        for running in read_running(self.folder):
            self.write_line(f"[evchaos live]   {describe(running, now)}")

    def panel(self) -> Any:
        from rich.table import Table

        now = time.time()
        table = Table(title=self.progress.headline(), title_justify="left", expand=True)
        for column in ("worker", "scenario", "current fault", "elapsed"):
            table.add_column(column, no_wrap=column != "current fault")
        for running in read_running(self.folder):
            rows = running.scenarios or [{"name": running.test, "faults": []}]
            for scenario in rows:
                faults = ", ".join(f"{name} ({now - since:.0f} s)" for name, since in scenario.get("faults") or [])
                table.add_row(running.worker, str(scenario["name"]), faults or "-", clock(now - running.started))
        return table
