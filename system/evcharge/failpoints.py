"""Failpoints: named places in the code where a test harness can freeze a process on purpose.

Why: a harness that wants to kill a process at a precise step (say, between Central's database
commit and its Kafka offset commit) cannot do it by watching logs from outside: by the time it has
read the line and sent SIGKILL the process is batches further on. A failpoint stops the process
*itself*, at exactly that step, with ``SIGSTOP``; the harness then finds it stopped (state ``T`` in
``/proc/PID/stat``) and SIGKILLs it there, or SIGCONTs it to let it go on as if nothing happened.

How it is armed: the environment variable ``EVCHARGE_FAILPOINTS`` names a file listing the armed
names, one per line (blank lines and ``#`` comments ignored). The harness may write the file before
or after the process starts: it is re-read whenever its mtime or size changes, and a missing file
arms nothing. Each armed name fires once per process, then is disarmed in memory, so a process
continued with SIGCONT does not stop again at the very next batch.

When it fires: a WARNING ``"failpoint reached"`` with ``{"failpoint": name}`` goes through the
``evcharge`` JSON logs (``logs.py``) and every handler is flushed *before* the stop, so the line
is on stderr for the harness to see while the process is frozen.

In production ``EVCHARGE_FAILPOINTS`` is unset: it is read once, at import, and ``failpoint`` is
then one global lookup and a return.

The points placed so far (grep ``failpoint(`` for the current list):

- ``central.db-committed`` (``central/service.py``): a non-empty batch's transaction has committed
  (its replies are in the outbox table, none handed to the producer yet); its offsets are not
  committed yet.
- ``central.offsets-committed`` (``central/service.py``): the same batch's offsets have been handed
  to the consumer's ``commit(wait=False)`` (asynchronous: the broker may not have them yet); the
  next poll has not happened.
- ``engine.supply-finished`` (``cp/engine.py``): a supply's completion is stored in the engine's
  state file and not yet queued for Kafka (a kill here loses it unless the restart sends it again).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

ENV = "EVCHARGE_FAILPOINTS"

log = logging.getLogger("evcharge.failpoints")


def _stop_self() -> None:
    """Freeze this whole process (every thread) until somebody sends SIGCONT, or SIGKILL."""
    os.kill(os.getpid(), signal.SIGSTOP)


def _flush_logs() -> None:
    """Flush every handler our line may have gone to, and stderr, so the harness reads it while we
    are stopped (a line buffered in a frozen process is as good as never written)."""
    logger: logging.Logger | None = log
    while logger is not None:
        for handler in logger.handlers:
            handler.flush()
        logger = logger.parent if logger.propagate else None
    for stream in (sys.stderr, sys.stdout):
        with contextlib.suppress(OSError, ValueError):  # closed or broken: nothing more we can do
            stream.flush()


class Failpoints:
    """The armed names read from one file, and the names that have fired in this process.

    ``stop`` is what firing does after logging (``SIGSTOP`` to ourselves); tests pass another."""

    def __init__(self, path: str, stop: Callable[[], None] = _stop_self) -> None:
        self.path = path
        self.stop = stop
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read
        self._armed: frozenset[str] = frozenset()
        self._fired: set[str] = set()

    def armed(self) -> frozenset[str]:
        """The names the file lists now, minus the ones already fired; re-read only if it changed."""
        with self._lock:
            self._refresh()
            return self._armed - self._fired

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:  # missing (or unreadable): nothing armed, and read it again once it exists
            self._seen, self._armed = None, frozenset()
            return
        key = (st.st_mtime_ns, st.st_size)
        if key == self._seen:
            return
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            self._seen, self._armed = None, frozenset()
            return
        self._seen = key
        self._armed = frozenset(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))

    def reached(self, name: str) -> bool:
        """Fire ``name`` if it is armed and has not fired yet; True if it fired (after the stop)."""
        with self._lock:
            self._refresh()
            if name not in self._armed or name in self._fired:
                return False
            self._fired.add(name)  # before stopping: after a SIGCONT it must not fire again
        log.warning("failpoint reached", extra={"failpoint": name})
        _flush_logs()
        self.stop()
        return True


_ACTIVE: Failpoints | None = None
_read = False
_read_lock = threading.Lock()


def _active() -> Failpoints | None:
    """The process's failpoints, from the environment as the first failpoint is passed, then kept:
    unset (production) leaves ``failpoint`` a no-op for the whole process. Not read at import: a
    process forked from an interpreter that imported this module already (the harness's
    ``preload``) only gets its own environment after the import."""
    global _ACTIVE, _read
    if not _read:
        with _read_lock:
            if not _read:
                _ACTIVE = Failpoints(os.environ[ENV]) if os.environ.get(ENV) else None
                _read = True
    return _ACTIVE


def failpoint(name: str) -> None:
    """Stop this process here if the harness armed ``name`` (see the module docstring); else return."""
    active = _active()
    if active is not None:
        active.reached(name)
