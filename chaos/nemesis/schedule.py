"""Fault timelines as data: a ``Schedule`` of ``Step``s, built in Python or loaded from YAML/JSON.

A schedule is data rather than code so that the one that ran can be printed, attached to a report,
saved and replayed exactly. Each step applies one fault kind to one target at an offset from the
start, for a duration (or until the next ``heal-all`` step); gaps are simply the offsets between
steps, and steps may overlap. A schedule ends with a ``quiet`` period in which nothing is broken,
so that recovery can be observed.

File form (YAML or JSON; ``seed``, ``name`` and ``quiet`` are optional)::

    seed: 7
    quiet: 10
    steps:
      - {at: 2, kind: timeout, target: producer, duration: 8, name: producer link timeout}
      - {at: 12, kind: kill, target: broker-1, params: {restart: true}}
      - {at: 20, kind: heal-all}
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HEAL_ALL = "heal-all"
"""The step kind that heals every fault still active."""

STEP_FIELDS = {
    "at": "the offset in seconds from the start, e.g. 'at: 2.5'",
    "kind": "the fault kind, e.g. 'kind: timeout' (or 'heal-all')",
    "target": "what the fault hits, e.g. 'target: producer'",
    "duration": "seconds until the fault is healed, or null to keep it until the next heal-all",
    "params": "a mapping of fault parameters, e.g. 'params: {latency: 500}'",
    "name": "a label for reports and verdicts, e.g. 'name: producer link timeout'",
}
SCHEDULE_FIELDS = ("steps", "seed", "quiet", "name")


class ScheduleError(ValueError):
    """A schedule (usually a file) is malformed; the message names the field and the fix."""


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
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScheduleError(f"cannot read schedule file {path}: {exc.strerror or exc}") from exc
        return cls.loads(text, source=str(path))

    @classmethod
    def loads(cls, text: str, source: str = "schedule") -> Schedule:
        """Parse YAML (a superset of JSON, so JSON files load too)."""
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or exc
            raise ScheduleError(f"{source}: not valid YAML/JSON{where}: {problem}") from None
        return cls.from_dict(raw, source)

    @classmethod
    def from_dict(cls, raw: Any, source: str = "schedule") -> Schedule:
        """Validate and build; a bare list is taken as the steps."""
        if isinstance(raw, list):
            raw = {"steps": raw}
        if not isinstance(raw, Mapping):
            raise ScheduleError(
                f"{source}: a schedule must be a mapping with a 'steps' list (or a list of steps), "
                f"got {type(raw).__name__}"
            )
        unknown = sorted(set(raw) - set(SCHEDULE_FIELDS))
        if unknown:
            raise ScheduleError(
                f"{source}: unknown field {unknown[0]!r}; a schedule has only: {', '.join(SCHEDULE_FIELDS)}"
            )
        steps = raw.get("steps")
        if not isinstance(steps, list):
            raise ScheduleError(
                f"{source}: 'steps' must be a list of steps, e.g. 'steps: [{{at: 0, kind: kill}}]'"
            )
        seed = raw.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ScheduleError(f"{source}: 'seed' must be an integer or null, got {seed!r}")
        return cls(
            steps=tuple(parse_step(step, f"{source}: steps[{i}]") for i, step in enumerate(steps)),
            quiet=seconds(
                raw.get("quiet", 0.0), f"{source}: quiet", "the quiet period in seconds, e.g. 'quiet: 10'"
            ),
            seed=seed,
            name=None if raw.get("name") is None else str(raw["name"]),
        )


def seconds(value: Any, where: str, hint: str, allow_none: bool = False, positive: bool = False) -> Any:
    """A non-negative number of seconds (or None if allowed), else a ``ScheduleError`` with ``hint``."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ScheduleError(f"{where}: must be a number of seconds {bound}, got {value!r}; {hint}")
    return float(value)


def parse_step(raw: Any, where: str) -> Step:
    if not isinstance(raw, Mapping):
        raise ScheduleError(f"{where}: a step must be a mapping such as '{{at: 0, kind: kill, target: x}}'")
    unknown = sorted(set(raw) - set(STEP_FIELDS))
    if unknown:
        raise ScheduleError(
            f"{where}: unknown field {unknown[0]!r}; a step has only: {', '.join(STEP_FIELDS)}"
        )
    for required in ("at", "kind"):
        if required not in raw:
            raise ScheduleError(f"{where}: missing {required!r}: {STEP_FIELDS[required]}")
    kind = raw["kind"]
    if not isinstance(kind, str) or not kind:
        raise ScheduleError(f"{where}.kind: must be a non-empty string, got {kind!r}; {STEP_FIELDS['kind']}")
    if kind != HEAL_ALL and not raw.get("target"):
        raise ScheduleError(f"{where}: missing 'target' for fault kind {kind!r}: {STEP_FIELDS['target']}")
    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        raise ScheduleError(f"{where}.params: must be a mapping, got {params!r}; {STEP_FIELDS['params']}")
    return Step(
        at=seconds(raw["at"], f"{where}.at", STEP_FIELDS["at"]),
        kind=kind,
        target=str(raw.get("target") or ""),
        duration=seconds(raw.get("duration"), f"{where}.duration", STEP_FIELDS["duration"], True, True),
        params=dict(params),
        name=None if raw.get("name") is None else str(raw["name"]),
    )


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
