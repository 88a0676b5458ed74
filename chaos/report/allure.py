"""Attach a run's evidence to the current Allure test result, and label it so the report can be filtered.

A failed scenario must be diagnosable from the report alone: the schedule and seed that replay it, the
history the checks judged, every service's log, the verdicts, the time-to-recovery figures and the
timeline picture. Labels (suite, fault kind, component, seed) let a reader filter a large report down
to "every broker fault" or "seed 42".

Every function is safe to call when allure-pytest is not active (no ``--alluredir``, or the package is
missing): it then does nothing, and the costly parts (drawing the timeline) are skipped, so scenario
code can call these unconditionally.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from chaos.checks.base import Verdict
from chaos.core.history import History
from chaos.nemesis.schedule import Schedule

try:  # allure-pytest is a test extra: the harness must import without it
    import allure
    from allure_commons import plugin_manager
    from allure_pytest.listener import AllureListener

    HAVE_ALLURE = True
except ImportError:  # pragma: no cover - exercised only where allure-pytest is absent
    HAVE_ALLURE = False


class _ToDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def enabled() -> bool:
    """True when allure-pytest is recording results for this session (pytest ran with ``--alluredir``)."""
    if not HAVE_ALLURE:
        return False
    return any(isinstance(p, AllureListener) for p in plugin_manager.get_plugins())


def _type(kind: str) -> Any:
    kinds = {
        "text": allure.attachment_type.TEXT,
        "json": allure.attachment_type.JSON,
        "yaml": allure.attachment_type.YAML,
        "png": allure.attachment_type.PNG,
    }
    return kinds[kind]


def attach_text(name: str, body: str, kind: str = "text") -> None:
    """Attach a string as ``text``, ``json`` or ``yaml``."""
    if enabled():
        allure.attach(body, name=name, attachment_type=_type(kind))


def attach_json(name: str, data: Any) -> None:
    attach_text(name, json.dumps(data, indent=2, sort_keys=True, default=str), "json")


def attach_file(name: str, path: Path | str, kind: str = "text") -> None:
    """Attach a file as it is on disk; a missing file becomes a short note instead of an error."""
    if not enabled():
        return
    source = Path(path)
    if not source.exists():
        attach_text(name, f"(no file at {source})")
        return
    allure.attach.file(str(source), name=name, attachment_type=_type(kind))


# -- labels ----------------------------------------------------------------------------------------
def label_scenario(
    suite: str,
    fault_kinds: Iterable[str] = (),
    components: Iterable[str] = (),
    seed: int | None = None,
) -> None:
    """Labels for filtering: ``suite``, ``fault_kind`` and ``component`` (also as tags), and ``seed``.

    Kinds and components are de-duplicated and sorted so two runs of one scenario carry equal labels.
    """
    if not enabled():
        return
    allure.dynamic.suite(suite)
    kinds, parts = sorted(set(fault_kinds)), sorted(set(components))
    if kinds:
        allure.dynamic.label("fault_kind", *kinds)
    if parts:
        allure.dynamic.label("component", *parts)
    allure.dynamic.tag(*kinds, *parts)
    if seed is not None:
        allure.dynamic.label("seed", str(seed))
        allure.dynamic.tag(f"seed:{seed}")
        allure.dynamic.parameter("seed", seed)


def schedule_labels(schedule: Schedule) -> tuple[list[str], list[str]]:
    """The fault kinds and targets of a schedule: what ``label_scenario`` wants from it."""
    return [s.kind for s in schedule.faults], [s.target for s in schedule.faults if s.target]


# -- evidence --------------------------------------------------------------------------------------
def attach_schedule(schedule: Schedule | Mapping[str, Any], seed: int | None = None) -> None:
    """The schedule that ran, as YAML (``Schedule.load`` reads it back to replay it), with its seed."""
    if not enabled():
        return
    raw = schedule.to_dict() if isinstance(schedule, Schedule) else dict(schedule)
    if seed is not None:
        raw["seed"] = seed
    name = "schedule" + ("" if raw.get("seed") is None else f" (seed {raw['seed']})")
    attach_text(name, yaml.safe_dump(raw, sort_keys=False), "yaml")
    if isinstance(schedule, Schedule):
        attach_text("schedule (table)", schedule.describe())


def attach_history(history: History | Path | str) -> None:
    """The history as JSON lines: the file if it was written to disk, else serialised from memory."""
    if not enabled():
        return
    path = history.path if isinstance(history, History) else Path(history)
    if path is not None and Path(path).exists():
        attach_file("history.jsonl", path)
    elif isinstance(history, History):
        body = "".join(json.dumps(e, default=str, separators=(",", ":")) + "\n" for e in history.events)
        attach_text("history.jsonl", body)


def attach_logs(logs: Mapping[str, Path | str] | Iterable[Path | str]) -> None:
    """Every service's log, one attachment each, named ``log: <service>`` (the file stem if unnamed)."""
    if not enabled():
        return
    named = logs.items() if isinstance(logs, Mapping) else ((Path(p).stem, p) for p in logs)
    for service, path in sorted(named, key=lambda item: str(item[0])):
        attach_file(f"log: {service}", path)


def verdicts_text(verdicts: Sequence[Verdict]) -> str:
    """A readable summary: failures first, each with its message (time, fault window, replay hint)."""
    if not verdicts:
        return "no verdicts (no checks ran)"
    failed = [v for v in verdicts if not v.ok]
    head = f"{len(failed)} of {len(verdicts)} verdicts FAILED" if failed else f"all {len(verdicts)} verdicts ok"
    lines = [head, ""]
    for verdict in [*failed, *(v for v in verdicts if v.ok)]:
        where = f" [{verdict.resource}]" if verdict.resource else ""
        lines.append(f"{'FAILED' if not verdict.ok else 'ok    '}  {verdict.invariant}{where}: {verdict.message}")
    return "\n".join(lines) + "\n"


def attach_verdicts(verdicts: Sequence[Verdict]) -> None:
    """The verdicts as JSON (for tools) and as text (for people)."""
    if not enabled():
        return
    attach_json("verdicts.json", [v.to_dict() for v in verdicts])
    attach_text("verdicts", verdicts_text(verdicts))


def attach_recovery(recovery: _ToDict | Mapping[str, Any] | float | None, **figures: Any) -> None:
    """Time-to-recovery figures (a ``Recovery``, a mapping or a number of seconds) plus any extra figures."""
    if not enabled():
        return
    if recovery is None or isinstance(recovery, int | float):
        data: dict[str, Any] = {"time_to_recovery_s": recovery}
    elif isinstance(recovery, Mapping):
        data = dict(recovery)
    else:
        data = recovery.to_dict()
    attach_json("time to recovery", {**data, **figures})


def attach_timeline(history: History, workdir: Path | str | None = None, title: str | None = None) -> Path | None:
    """Draw the timeline PNG (into ``workdir`` or a temp folder) and attach it; None when Allure is off."""
    if not enabled():
        return None
    from chaos.report.timeline import plot_timeline

    folder = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="evchaos-timeline-"))
    png = plot_timeline(history, folder / "timeline.png", title=title)
    attach_file("timeline", png, "png")
    return png


@dataclass
class RunEvidence:
    """Everything one scenario produced, attached in one call by ``attach_run``."""

    suite: str
    history: History
    verdicts: Sequence[Verdict] = ()
    schedule: Schedule | None = None
    logs: Mapping[str, Path | str] = field(default_factory=dict)
    recovery: _ToDict | Mapping[str, Any] | float | None = None
    components: Sequence[str] = ()
    workdir: Path | None = None

    @property
    def seed(self) -> int | None:
        """The scenario's one seed, as its history recorded it."""
        return self.history.seed


def attach_run(evidence: RunEvidence) -> None:
    """Labels plus every attachment, in the order a reader wants them: verdicts first, logs last."""
    if not enabled():
        return
    kinds, targets = schedule_labels(evidence.schedule) if evidence.schedule is not None else ([], [])
    label_scenario(evidence.suite, kinds, [*evidence.components, *targets], evidence.seed)
    attach_verdicts(evidence.verdicts)
    attach_recovery(evidence.recovery)
    attach_timeline(evidence.history, evidence.workdir, title=evidence.history.meta.get("scenario"))
    if evidence.schedule is not None:
        attach_schedule(evidence.schedule, evidence.seed)
    attach_history(evidence.history)
    attach_logs(evidence.logs)
