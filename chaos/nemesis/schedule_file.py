"""The file form of a schedule: YAML/JSON text checked field by field into plain, typed fields.

Files are written by hand, so every mistake must come back as a ``ScheduleError`` that names the
field and shows the fix, before anything is broken. This module knows the file's vocabulary and
rules but not the ``Schedule`` objects built from it (``chaos.nemesis.schedule``), so the model
depends on the file form and never the other way round.

File form (YAML or JSON; ``seed``, ``name`` and ``quiet`` are optional). Kinds, targets and params
are the fault library's (``chaos.faults``), checked when the faults are made; link targets name the
system's client roles (``producer`` here)::

    seed: 7
    quiet: 10
    steps:
      - {at: 2, kind: timeout, target: producer, duration: 8, params: {stream: both}, name: producer link timeout}
      - {at: 12, kind: kill, target: "broker:1"}
      - {at: 20, kind: heal-all}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

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


class StepFields(TypedDict):
    """One checked step: exactly the arguments of ``Step``."""

    at: float
    kind: str
    target: str
    duration: float | None
    params: dict[str, Any]
    name: str | None


class ScheduleFields(TypedDict):
    """A checked schedule: the steps in file order and the arguments ``Schedule`` takes besides."""

    steps: list[StepFields]
    quiet: float
    seed: int | None
    name: str | None


def read_text(path: Path | str) -> str:
    """The file's text, or a ``ScheduleError`` that says why it cannot be read."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScheduleError(f"cannot read schedule file {path}: {exc.strerror or exc}") from exc


def parse_text(text: str, source: str = "schedule") -> Any:
    """Parse YAML (a superset of JSON, so JSON files load too), locating a syntax error."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise ScheduleError(f"{source}: not valid YAML/JSON{where}: {problem}") from None


def check_schedule(raw: Any, source: str = "schedule") -> ScheduleFields:
    """Validate a parsed schedule; a bare list is taken as the steps."""
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
    return {
        "steps": [check_step(step, f"{source}: steps[{i}]") for i, step in enumerate(steps)],
        "quiet": seconds(
            raw.get("quiet", 0.0), f"{source}: quiet", "the quiet period in seconds, e.g. 'quiet: 10'"
        ),
        "seed": seed,
        "name": None if raw.get("name") is None else str(raw["name"]),
    }


def seconds(value: Any, where: str, hint: str, allow_none: bool = False, positive: bool = False) -> Any:
    """A non-negative number of seconds (or None if allowed), else a ``ScheduleError`` with ``hint``."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ScheduleError(f"{where}: must be a number of seconds {bound}, got {value!r}; {hint}")
    return float(value)


def check_step(raw: Any, where: str) -> StepFields:
    """Validate one step; only a ``heal-all`` may leave out its target."""
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
    return {
        "at": seconds(raw["at"], f"{where}.at", STEP_FIELDS["at"]),
        "kind": kind,
        "target": str(raw.get("target") or ""),
        "duration": seconds(raw.get("duration"), f"{where}.duration", STEP_FIELDS["duration"], True, True),
        "params": dict(params),
        "name": None if raw.get("name") is None else str(raw["name"]),
    }
