"""Playing a workload: one closed loop per client, seeded, beside the nemesis, until told to stop.

``ClosedLoop(workload, perform)`` is a test map's workload: the scenario calls it with its clients
object and a stop event. Seeded from the test map's seed (``seeded``), each client gets its own
random stream, so a replay draws the same operations in the same order per client (when they run
depends on the system, as it should).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chaos.workload.spec import Workload


@dataclass(frozen=True)
class Invocation:
    """One drawn operation, handed to the system's ``perform``: it runs it and records it."""

    client: str
    f: str
    target: str | None
    rng: random.Random
    params: dict[str, Any] = field(default_factory=dict)


Perform = Callable[[Any, Invocation], None]
"""``perform(clients, invocation)``: run one operation to its end (blocking) and record it."""


class ClosedLoop:
    """A ``TestMap`` workload playing ``workload`` through ``perform``."""

    def __init__(self, workload: Workload, perform: Perform, seed: int | None = None) -> None:
        self.workload, self.perform, self.seed = workload, perform, seed
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def seeded(self, seed: int | None) -> ClosedLoop:
        """The same workload drawing from ``seed`` (the test map's)."""
        return ClosedLoop(self.workload, self.perform, seed)

    def __call__(self, clients: Any, stop: threading.Event) -> None:
        """Run every client's loop until ``stop`` is set or the duration is over; then join them."""
        history = getattr(clients, "history", None)
        if history is not None:
            history.note("workload", workload=self.workload.describe(), seed=self.seed)
        slots = threading.BoundedSemaphore(self.workload.concurrency or len(self.workload.clients))
        ends = None if self.workload.duration is None else time.monotonic() + self.workload.duration
        threads = [
            threading.Thread(target=self._client, args=(clients, name, index, stop, slots, ends),
                             name=f"client-{name}", daemon=True)
            for index, name in enumerate(self.workload.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if history is not None:
            history.note("workload done", operations=dict(sorted(self.counts.items())), errors=self.errors[:10])
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} operations crashed; first: {self.errors[0]}")

    def _client(self, clients: Any, name: str, index: int, stop: threading.Event,
                slots: threading.BoundedSemaphore, ends: float | None) -> None:
        rng = random.Random(f"{self.seed}:{index}:{name}")
        while not stop.is_set() and (ends is None or time.monotonic() < ends):
            if not slots.acquire(timeout=0.2):
                continue
            f, target = self.workload.draw(rng)  # drawn once a slot is free: a retry never skips a draw
            try:
                self.perform(clients, Invocation(name, f, target, rng, dict(self.workload.params)))
                with self._lock:
                    self.counts[f] += 1
            except Exception as exc:  # one client's crash is the workload's bug: stop and say so
                with self._lock:
                    self.errors.append(f"{name} {f}: {type(exc).__name__}: {exc}")
                stop.set()
            finally:
                slots.release()
            if stop.wait(self.workload.pause(rng)):
                return
