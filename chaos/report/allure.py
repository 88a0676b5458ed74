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


class ToDict(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def enabled() -> bool:
    """True when allure-pytest is recording results for this session (pytest ran with ``--alluredir``)."""
    return allure_listener() is not None


def allure_listener() -> Any:
    """allure-pytest's listener of this session (None when it is not recording): its reporter takes steps
    with times given, which ``chaos.report.page`` writes the story with."""
    if not HAVE_ALLURE:
        return None
    return next((p for p in plugin_manager.get_plugins() if isinstance(p, AllureListener)), None)


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


LOG_HEAD, LOG_TAIL = 16 * 1024, 48 * 1024
"""A log attachment keeps its first and last bytes (the start, and how it ended); the whole log goes
with it compressed when it is longer (a Central log of one 15 s scenario was 736 KB)."""


def bounded_log(text: str, head: int = LOG_HEAD, tail: int = LOG_TAIL) -> str:
    """``text`` if it is short, else its first ``head`` and last ``tail`` characters, cut at lines,
    with a line in between that says how much is left out and where it is."""
    if len(text) <= head + tail:
        return text
    first = text[:head].rsplit("\n", 1)[0] + "\n"
    last = text[-tail:].split("\n", 1)[-1]
    cut = text[len(first):len(text) - len(last)]
    return (f"{first}... {cut.count(chr(10))} lines ({len(cut) // 1024} KiB) left out here: the whole log is the "
            f"attachment beside this one (.gz) ...\n{last}")


def attach_logs(logs: Mapping[str, Path | str] | Iterable[Path | str]) -> None:
    """Every service's log, one attachment each, named ``log: <service>`` (the file stem if unnamed),
    bounded in size (``bounded_log``); a long one also whole, gzipped."""
    if not enabled():
        return
    import gzip

    named = logs.items() if isinstance(logs, Mapping) else ((Path(p).stem, p) for p in logs)
    for service, path in sorted(named, key=lambda item: str(item[0])):
        source = Path(path)
        if not source.exists():
            attach_text(f"log: {service}", f"(no file at {source})")
            continue
        text = source.read_text(errors="replace")
        short = bounded_log(text)
        attach_text(f"log: {service}", short)
        if short != text:
            allure.attach(gzip.compress(text.encode(), 6), name=f"log: {service} (whole, gzip)",
                          attachment_type="application/gzip", extension="log.gz")


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


def attach_recovery(recovery: ToDict | Mapping[str, Any] | float | None, **figures: Any) -> None:
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
