"""Fault timelines as data: a ``Schedule`` of ``Step``s, built in Python or loaded from YAML/JSON.

A schedule is data rather than code so that the one that ran can be printed, attached to a report,
saved and replayed exactly. Each step applies one fault kind to one target at an offset from the
start, for a duration (or until the next ``heal-all`` step); gaps are simply the offsets between
steps, and steps may overlap. A schedule ends with a ``quiet`` period in which nothing is broken,
so that recovery can be observed. The file form, with an example, is ``chaos.nemesis.schedule_file``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chaos.nemesis.schedule_file import HEAL_ALL, ScheduleError, check_schedule, parse_text, read_text

__all__ = ["HEAL_ALL", "Schedule", "ScheduleBuilder", "ScheduleError", "Step"]


@dataclass(frozen=True)
class Step:
    """Apply fault ``kind`` with ``params`` on ``target`` at offset ``at`` for ``duration`` seconds."""

    at: float
    kind: str
    target: str = ""
    duration: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None

    @property
    def label(self) -> str:
        """How reports and verdicts name this step's fault window."""
        return self.name or (f"{self.target} {self.kind}" if self.target else self.kind)

    @property
    def heal_at(self) -> float | None:
        return None if self.duration is None else self.at + self.duration

    def to_dict(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"at": self.at, "kind": self.kind}
        if self.kind != HEAL_ALL:
            raw["target"] = self.target
            raw["duration"] = self.duration
        if self.params:
            raw["params"] = dict(self.params)
        if self.name:
            raw["name"] = self.name
        return raw


@dataclass(frozen=True)
class Schedule:
    """An ordered fault timeline, the seed that produced it (if any) and a final quiet period."""

    steps: tuple[Step, ...] = ()
    quiet: float = 0.0
    seed: int | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(sorted(self.steps, key=lambda s: s.at)))

    @property
    def faults(self) -> list[Step]:
        return [step for step in self.steps if step.kind != HEAL_ALL]

    @property
    def active_until(self) -> float:
        """When the last fault is healed: the last heal-all, or the last timed fault's end."""
        ends = [step.at if step.kind == HEAL_ALL else (step.heal_at or step.at) for step in self.steps]
        return max(ends, default=0.0)

    @property
    def end(self) -> float:
        """The whole run: faults, then the quiet period."""
        return self.active_until + self.quiet

    def describe(self) -> str:
        """A human table, printed and attached when a scenario fails."""
        title = f"schedule {self.name}" if self.name else "schedule"
        head = f"{title} seed={self.seed} quiet={self.quiet:g}s end={self.end:g}s"
        rows = []
        for step in self.steps:
            if step.kind == HEAL_ALL:
                span = ""
            else:
                span = " until heal-all" if step.duration is None else f" for {step.duration:g}s"
            params = f" {json.dumps(dict(step.params), sort_keys=True)}" if step.params else ""
            rows.append(f"  +{step.at:7.2f}s  {step.label}{span}{params}")
        return "\n".join([head, *rows])

    # -- data form -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"seed": self.seed, "quiet": self.quiet}
        if self.name:
            raw["name"] = self.name
        raw["steps"] = [step.to_dict() for step in self.steps]
        return raw

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def dump(self, path: Path | str) -> Path:
        """Write as JSON if the name ends in ``.json``, else as YAML."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() if path.suffix == ".json" else self.to_yaml(), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path | str) -> Schedule:
        return cls.loads(read_text(path), source=str(path))

    @classmethod
    def loads(cls, text: str, source: str = "schedule") -> Schedule:
        """Parse YAML (a superset of JSON, so JSON files load too)."""
        return cls.from_dict(parse_text(text, source), source)

    @classmethod
    def from_dict(cls, raw: Any, source: str = "schedule") -> Schedule:
        """Validate and build; a bare list is taken as the steps."""
        fields = check_schedule(raw, source)
        steps = tuple(Step(**step) for step in fields["steps"])
        return cls(steps, fields["quiet"], fields["seed"], fields["name"])


class ScheduleBuilder:
    """Python form of a timeline: a cursor that faults and waits advance.

    ``ScheduleBuilder().wait(2).fault("timeout", "producer", 8).wait(5).heal_all().quiet(10).build()``
    A ``background`` fault does not advance the cursor, so the next one overlaps it.
    """

    def __init__(self, seed: int | None = None, name: str | None = None) -> None:
        self.seed, self.name = seed, name
        self.cursor = 0.0
        self.steps: list[Step] = []
        self._quiet = 0.0

    def wait(self, seconds: float) -> ScheduleBuilder:
        self.cursor += seconds
        return self

    def fault(
        self,
        kind: str,
        target: str,
        duration: float | None = None,
        params: Mapping[str, Any] | None = None,
        name: str | None = None,
        background: bool = False,
    ) -> ScheduleBuilder:
        self.steps.append(Step(self.cursor, kind, target, duration, dict(params or {}), name))
        if not background and duration is not None:
            self.cursor += duration
        return self

    def heal_all(self) -> ScheduleBuilder:
        self.steps.append(Step(self.cursor, HEAL_ALL))
        return self

    def quiet(self, seconds: float) -> ScheduleBuilder:
        self._quiet = seconds
        return self

    def build(self) -> Schedule:
        return Schedule(tuple(self.steps), self._quiet, self.seed, self.name)
