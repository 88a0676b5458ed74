"""Seeded random schedules: the same seed and menu give exactly the same schedule.

Hand-written scenarios only find the failures someone imagined; a generator explores combinations
of kinds, targets, durations and gaps nobody wrote down. Determinism is what makes that useful:
every random draw comes from one ``random.Random(seed)`` in a fixed order, so ``--chaos-seed N``
replays a failing run exactly. Every generated schedule ends with a ``heal-all`` and a quiet period,
so each run also tests recovery.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.nemesis.schedule import HEAL_ALL, Schedule, Step

Range = tuple[float, float]
ParamChoice = Any
"""A parameter's menu: ``(lo, hi)`` draws uniformly (integers if both are ints), a list picks one,
anything else is used as is."""


@dataclass(frozen=True)
class MenuItem:
    """One fault kind, the targets it may hit, and how to draw its parameters.

    ``duration`` overrides the generator's range for this kind (e.g. a process kill heals by
    restarting, which wants a shorter outage than a network partition).
    """

    kind: str
    targets: Sequence[str]
    params: Mapping[str, ParamChoice] = field(default_factory=dict)
    duration: Range | None = None
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError(f"fault kind {self.kind!r} has no targets to choose from")


Menu = Sequence[MenuItem] | Mapping[str, Sequence[str]]


def as_items(menu: Menu) -> list[MenuItem]:
    """Accept the short form ``{kind: [targets]}`` as well as a list of ``MenuItem``s."""
    items = (
        [MenuItem(kind, tuple(targets)) for kind, targets in menu.items()]
        if isinstance(menu, Mapping)
        else list(menu)
    )
    if not items:
        raise ValueError("the fault menu is empty; give at least one fault kind and its targets")
    return items


def draw(rng: random.Random, choice: ParamChoice) -> Any:
    if isinstance(choice, tuple) and len(choice) == 2:
        lo, hi = choice
        if isinstance(lo, int) and isinstance(hi, int):
            return rng.randint(lo, hi)
        return round(rng.uniform(float(lo), float(hi)), 3)
    if isinstance(choice, list):
        return rng.choice(choice)
    return choice


def generate(
    seed: int,
    menu: Menu,
    *,
    faults: tuple[int, int] = (2, 5),
    duration: Range = (1.0, 10.0),
    gap: Range = (0.5, 5.0),
    start: Range = (0.0, 2.0),
    overlap: float = 0.0,
    quiet: float = 10.0,
    name: str | None = None,
) -> Schedule:
    """A schedule of ``faults[0]..faults[1]`` faults drawn from ``menu``.

    Faults follow one another separated by a gap drawn from ``gap``; with probability ``overlap``
    the next fault instead starts while the previous one is still active. Offsets and durations are
    rounded to 0.1 s so a printed schedule reads well and round-trips exactly.
    """
    items = as_items(menu)
    rng = random.Random(seed)
    weights = [item.weight for item in items]
    cursor = round(rng.uniform(*start), 1)
    steps: list[Step] = []
    for _ in range(rng.randint(*faults)):
        item = rng.choices(items, weights)[0]
        target = rng.choice(list(item.targets))
        length = round(rng.uniform(*(item.duration or duration)), 1) or 0.1
        params = {key: draw(rng, item.params[key]) for key in sorted(item.params)}
        steps.append(Step(cursor, item.kind, target, length, params))
        if rng.random() < overlap:
            cursor = round(cursor + rng.uniform(0.0, length), 1)
        else:
            cursor = round(cursor + length + rng.uniform(*gap), 1)
    heal_at = max((step.at + (step.duration or 0.0) for step in steps), default=cursor)
    steps.append(Step(round(heal_at, 1), HEAL_ALL))
    return Schedule(tuple(steps), quiet=quiet, seed=seed, name=name or f"random-{seed}")
