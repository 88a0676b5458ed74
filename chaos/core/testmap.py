"""One scenario said in one place, as data: Jepsen's test map.

A scenario is its name, one seed, what the clients do (the workload), what breaks (the nemesis)
and what is judged (the checks). Saying them together keeps them apart in the code — a workload
never applies a fault, a nemesis never judges — and takes the seed once: the nemesis is built
from the map's seed, the history records it, and every verdict's replay hint quotes it.

    TestMap("random schedule seed 3", seed=3, workload=keep_charging,
            nemesis=lambda seed: generate(seed, MENU, faults=(2, 4)),
            checks=["transient-state-limit", "recovery"])
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chaos.checks.params import InvariantSpec
from chaos.nemesis import Schedule

Workload = Callable[[Any, threading.Event], None]
"""``workload(clients, stop)``: play the clients until ``stop`` is set. ``clients`` is what the
suite drives them through (``Scenario.clients``: the scenario itself unless a suite sets its own)."""

Nemesis = Schedule | Callable[[int | None], Schedule]
"""A fixed schedule, or a function of the seed that builds one (a seeded generator)."""


@dataclass(frozen=True)
class TestMap:
    """What one scenario runs. ``None`` means: no workload, no nemesis, or the spec's checks."""

    __test__ = False  # a data class named Test*: not a pytest test class

    name: str
    seed: int | None = None
    workload: Workload | None = None
    nemesis: Nemesis | None = None
    checks: Sequence[str] | None = None
    invariants: InvariantSpec | None = None

    def schedule(self) -> Schedule | None:
        """The nemesis as a schedule, built from this map's seed when it is a generator."""
        if self.nemesis is None or isinstance(self.nemesis, Schedule):
            return self.nemesis
        return self.nemesis(self.seed)
