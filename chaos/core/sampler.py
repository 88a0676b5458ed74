"""Sampling the system's state into a history: a thread that polls a probe and records what changed.

Kept apart from the history itself because the log must stay a passive record that checks and
``evchaos check`` read offline, with no thread and no probe; only a live run needs this sampler.
Its output is the history's ``state`` events: keyframes (the complete map) and the changes between.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from chaos.core.history import History

StateProbe = Callable[[], "Mapping[str, str] | None"]
"""Reads every resource's state; returns None when it cannot tell this time (file locked, not there)."""


class StateSampler:
    """Polls a probe about every ``interval`` seconds in a thread and records what changed.

    Only changes are written, plus a complete keyframe every ``keyframe_every`` seconds (and at start
    and stop), so a 10 Hz sampler over an idle system adds a line every few seconds, not ten a second.
    A probe that raises is noted once per distinct error and otherwise treated as "cannot tell".
    """

    def __init__(
        self, history: History, probe: StateProbe, interval: float = 0.1, keyframe_every: float = 5.0
    ) -> None:
        self.history, self.probe = history, probe
        self.interval, self.keyframe_every = interval, keyframe_every
        self._last: dict[str, str] | None = None
        self._last_keyframe = float("-inf")
        self._last_error: str | None = None
        self._stop = threading.Event()
        self._sample_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def sample(self, force_keyframe: bool = False) -> None:
        """Take one sample now (the thread calls this; a scenario opening a fault window, tests and
        ``stop`` may too: a lock keeps two samples from interleaving)."""
        with self._sample_lock:
            self._sample(force_keyframe)

    def _sample(self, force_keyframe: bool) -> None:
        try:
            states = self.probe()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if error != self._last_error:
                self.history.note("state probe failed", error=error)
                self._last_error = error
            return
        if states is None:
            return
        current = {str(k): str(v) for k, v in states.items()}
        now = self.history.clock.now()
        if force_keyframe or self._last is None or now - self._last_keyframe >= self.keyframe_every:
            self.history.state(current, keyframe=True)
            self._last_keyframe = now
        else:
            changed = {k: v for k, v in current.items() if self._last.get(k) != v}
            gone = [k for k in self._last if k not in current]
            if changed or gone:
                self.history.state(changed, keyframe=False, gone=gone)
        self._last = current

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> StateSampler:
        if self._thread is None:
            self._stop.clear()
            self.sample(force_keyframe=True)
            self._thread = threading.Thread(target=self._run, name="state-sampler", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and record a final keyframe, so the end state is in the history."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
            if not self.history.closed:
                self.sample(force_keyframe=True)

    def __enter__(self) -> StateSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
