"""Supervision: no loop of ours dies silently, and one that keeps dying takes the process with it.

Why: a nested JSON record once raised ``RecursionError`` in the engines' receiving thread; the
thread died, nothing said so, and the process lived on with its health port answering OK, so the CP
looked available, was booked and "charged" 0 kWh. Every background loop (inbox, meter, deadline
watcher, health and API servers, services runner, monitor beats) now runs under ``Supervised``:

- what the loop did not foresee is logged with its traceback and the loop restarts after a short
  backoff that doubles with each recent crash (``BACKOFF_MIN`` .. ``BACKOFF_MAX``);
- while it is down between a crash and its restart, ``up`` is False, so the component's health
  answer can say so (the engine answers KO, the driver's ``/health`` 503);
- after ``MAX_CRASHES`` crashes within ``CRASH_WINDOW`` s the process exits with
  ``EXIT_CRASH_LOOP`` (``os._exit``: other threads cannot hold it up), logged as critical, so
  whatever supervises the process restarts it: a fresh process beats a loop that cannot run.

A loop that returns normally is done (it returns when its stop event is set, or when its work is
finished, like the services runner): only exceptions restart it.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger("evcharge.supervise")

EXIT_CRASH_LOOP = 70
"""The exit status of a process whose loop kept crashing (EX_SOFTWARE: distinct from 1 and 2)."""
BACKOFF_MIN = 0.2
BACKOFF_MAX = 5.0
MAX_CRASHES = 5
CRASH_WINDOW = 60.0
SERVE_POLL = 0.25
"""Seconds a server loop waits for a connection before it looks at its stop event again."""

GiveUp = Callable[[int], object]


def exit_process(code: int) -> None:
    """Flush what was logged, then end the process at once (``sys.exit`` in a thread ends the thread)."""
    for stream in (sys.stderr, sys.stdout):
        with contextlib.suppress(Exception):  # a closed stream must not keep the process alive
            stream.flush()
    os._exit(code)


class Supervised:
    """Runs ``loop`` (in a thread with ``start``, or here with ``run``), restarting it when it raises."""

    def __init__(
        self,
        name: str,
        loop: Callable[[], None],
        stopping: threading.Event,
        backoff_min: float = BACKOFF_MIN,
        backoff_max: float = BACKOFF_MAX,
        max_crashes: int = MAX_CRASHES,
        window: float = CRASH_WINDOW,
        give_up: GiveUp = exit_process,
    ) -> None:
        self.name = name
        self.loop = loop
        self.stopping = stopping
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.max_crashes = max_crashes
        self.window = window
        self.give_up = give_up
        self.restarts = 0
        self.last_error: str | None = None
        self._crashes: collections.deque[float] = collections.deque()
        self._down = False
        self._thread: threading.Thread | None = None

    @property
    def up(self) -> bool:
        """False between a crash and the restart (or for good if the loop ended by BaseException)."""
        return not self._down

    def start(self) -> Supervised:
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Run the loop until it returns; on each exception log, wait the backoff, run it again."""
        finished = False
        try:
            while not self.stopping.is_set():
                try:
                    self.loop()
                    finished = True
                    return
                except Exception as exc:
                    self._down = True
                    self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    log.exception("loop %s crashed", self.name, extra={"loop": self.name})
                    self._crashed()
                self._down = False
        finally:
            if not finished and not self.stopping.is_set():
                self._down = True  # ended by KeyboardInterrupt/SystemExit: it will not come back

    def _crashed(self) -> None:
        """Count the crash; give up after too many in the window, else wait the backoff."""
        now = time.monotonic()
        self._crashes.append(now)
        while self._crashes and self._crashes[0] < now - self.window:
            self._crashes.popleft()
        recent = len(self._crashes)
        if recent >= self.max_crashes:
            log.critical(
                "loop %s crashed %d times in %g s: exiting with status %d so the process is restarted",
                self.name,
                recent,
                self.window,
                EXIT_CRASH_LOOP,
                extra={"loop": self.name, "last_error": self.last_error},
            )
            self.give_up(EXIT_CRASH_LOOP)
            return  # only a stand-in give_up (tests) returns
        delay = min(self.backoff_max, self.backoff_min * 2 ** (recent - 1))
        self.restarts += 1
        log.warning("restarting loop %s in %.2f s", self.name, delay, extra={"loop": self.name, "crashes": recent})
        self.stopping.wait(delay)


def down(loops: Iterable[Supervised]) -> dict[str, str]:
    """The loops that are down, with their last error: what a health answer reports."""
    return {loop.name: loop.last_error or "down" for loop in loops if not loop.up}


class Served:
    """A socketserver whose accept loop runs supervised; ``close`` stops it and frees the port.

    Why not ``serve_forever``/``shutdown``: ``shutdown`` waits for ever unless ``serve_forever`` is
    running at that moment, which a loop in its backoff (or not yet started) is not. Here the loop
    handles one request at a time with a short timeout and looks at its stop event in between.
    """

    def __init__(self, server: socketserver.BaseServer, name: str) -> None:
        self.server = server
        server.timeout = SERVE_POLL
        self.stopping = threading.Event()
        self.loop = Supervised(name, self._serve, self.stopping)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])  # type: ignore[index]

    def start(self) -> Served:
        self.loop.start()
        return self

    def close(self) -> None:
        self.stopping.set()
        self.loop.join(SERVE_POLL * 4 + 1)
        self.server.server_close()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            self.server.handle_request()


def on_signal(*events: threading.Event) -> None:
    """SIGTERM / SIGINT ask the component to stop cleanly (drain the send queue, close clients)."""

    def handler(signum: int, _frame: object) -> None:
        for event in events:
            event.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
