"""A workload described as data, validated once so a mistake says what is wrong before a run starts."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class WorkloadError(ValueError):
    """A workload's data is inconsistent; the message names the field and what is allowed."""


@dataclass(frozen=True)
class Workload:
    """What the clients do.

    - ``clients``: the client names (processes in the history), one closed loop each;
    - ``mix``: operation name -> weight (``{"charge": 6, "stop-mid-charge": 2, "cancel": 1}``);
    - ``targets``: what an operation may aim at, drawn uniformly; ``None`` in it means "any";
    - ``think``: (min, max) seconds a client waits between two of its operations;
    - ``concurrency``: at most this many operations in flight over all clients (None: one per client);
    - ``duration``: seconds from the start after which no client starts a new operation (None: until
      the run stops it);
    - ``params``: anything the operations read (e.g. ``{"length": (0.3, 1.5)}``), passed as is.
    """

    clients: Sequence[str]
    mix: Mapping[str, float]
    targets: Sequence[str | None] = (None,)
    think: tuple[float, float] = (0.0, 0.5)
    concurrency: int | None = None
    duration: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.clients:
            raise WorkloadError("a workload needs at least one client")
        if len(set(self.clients)) != len(self.clients):
            raise WorkloadError(f"client names repeat: {sorted(self.clients)}")
        if not self.mix or any(weight < 0 for weight in self.mix.values()) or sum(self.mix.values()) <= 0:
            raise WorkloadError(f"mix must give operations non-negative weights, some positive; got {dict(self.mix)}")
        if not self.targets:
            raise WorkloadError("targets must list at least one target (None means 'any')")
        low, high = self.think
        if not 0 <= low <= high:
            raise WorkloadError(f"think must be (min, max) with 0 <= min <= max, got {self.think}")
        if self.concurrency is not None and self.concurrency < 1:
            raise WorkloadError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.duration is not None and self.duration <= 0:
            raise WorkloadError(f"duration must be positive, got {self.duration}")

    def draw(self, rng: random.Random) -> tuple[str, str | None]:
        """One operation and its target."""
        names = sorted(self.mix)
        f = rng.choices(names, weights=[self.mix[name] for name in names])[0]
        return f, rng.choice(list(self.targets))

    def pause(self, rng: random.Random) -> float:
        return rng.uniform(*self.think)

    def describe(self) -> dict[str, Any]:
        """JSON-ready, for the history (a report shows what the clients were doing)."""
        return {
            "clients": list(self.clients), "mix": dict(self.mix), "targets": list(self.targets),
            "think": list(self.think), "concurrency": self.concurrency, "duration": self.duration,
            "params": {key: list(v) if isinstance(v, tuple) else v for key, v in self.params.items()},
        }
