"""A scenario's page in the report: what a reader sees first, and in what order.

- the title is the scenario (``leader SIGKILL (3 nodes)``), not the test function;
- the description says what the test is for (its docstring), shows the timeline picture, what
  breaks and when (every fault window), and what must hold (the rules judged);
- the body opens with the timeline and the verdicts, then tells the run as steps with their own
  times (``chaos.report.story``), then the evidence: recovery figures, schedule, history, logs;
- a label per broken rule (``broken_rule``) files a failed test under that rule's category.

Everything goes to the test's own result, during its call (``chaos.pytest_plugin``), so no fixture
holds the evidence; a no-op when allure-pytest is not recording.
"""

from __future__ import annotations

import base64
import html
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.checks.base import Verdict
from chaos.core.history import History
from chaos.nemesis.schedule import Schedule
from chaos.report.allure import (
    ToDict,
    allure_listener,
    attach_history,
    attach_json,
    attach_logs,
    attach_recovery,
    attach_schedule,
    attach_text,
    attach_timeline,
    enabled,
    label_scenario,
    schedule_labels,
    verdicts_text,
)

BROKEN_RULE = "broken_rule"
"""The label naming each rule a test broke: one category per rule matches it (``chaos.report.html``)."""


@dataclass
class RunEvidence:
    """Everything one scenario produced, attached in one call by ``attach_run``."""

    suite: str
    history: History
    verdicts: Sequence[Verdict] = ()
    schedule: Schedule | None = None
    logs: Mapping[str, Path | str] = field(default_factory=dict)
    recovery: ToDict | Mapping[str, Any] | float | None = None
    components: Sequence[str] = ()
    workdir: Path | None = None
    doc: str = ""
    """The test's own account of the scenario (its docstring): the first paragraph of the description."""

    @property
    def seed(self) -> int | None:
        """The scenario's one seed, as its history recorded it."""
        return self.history.seed

    @property
    def title(self) -> str:
        meta = self.history.meta
        return str(meta.get("scenario") or meta.get("name") or self.suite)


def attach_run(evidence: RunEvidence) -> None:
    """The whole page (see the module doc), labels included."""
    if not enabled():
        return
    import allure

    from chaos.report.story import broken_rules, story

    allure.dynamic.title(evidence.title)
    kinds, targets = schedule_labels(evidence.schedule) if evidence.schedule is not None else ([], [])
    label_scenario(evidence.suite, kinds, [*evidence.components, *targets], evidence.seed)
    broken = broken_rules(evidence.verdicts)
    if broken:
        allure.dynamic.label(BROKEN_RULE, *broken)
    at = evidence.history.clock.start_wall.timestamp()
    drawn: list[Path | None] = []
    in_place("timeline", at, lambda: drawn.append(attach_timeline(evidence.history, evidence.workdir,
                                                                  title=evidence.title)))
    allure.dynamic.description_html(describe_run(evidence, drawn[0] if drawn else None))
    in_place("verdicts", at, lambda: attach_text("verdicts", verdicts_text(evidence.verdicts)))
    write_steps(story(evidence.history, evidence.verdicts))
    attach_json("verdicts.json", [v.to_dict() for v in evidence.verdicts])
    attach_recovery(evidence.recovery)
    if evidence.schedule is not None:
        attach_schedule(evidence.schedule, evidence.seed)
    attach_history(evidence.history)
    attach_logs(evidence.logs)


def describe_run(evidence: RunEvidence, timeline: Path | None = None) -> str:
    """HTML: what the scenario is for (the test's own words), its timeline, what breaks and when,
    what must hold. The picture is inlined, so the page shows it without a click."""
    from chaos.checks.views import fault_windows

    parts = [f"<p>{html.escape(paragraph)}</p>"
             for paragraph in inspect.cleandoc(evidence.doc).split("\n\n") if paragraph.strip()] if evidence.doc else []
    if timeline is not None and timeline.exists():
        data = base64.b64encode(timeline.read_bytes()).decode()
        parts.append(f'<img alt="timeline" style="max-width:100%" src="data:image/png;base64,{data}">')
    windows = fault_windows(evidence.history)
    if windows:
        rows = "".join(
            f"<tr><td>{html.escape(w.name)}</td><td>{html.escape(w.kind)}</td><td>{html.escape(w.target)}</td>"
            f"<td>{w.start:.1f} s</td><td>{'never healed' if w.end is None else f'{w.end - w.start:.1f} s'}</td></tr>"
            for w in windows)
        parts.append("<p><b>What breaks, and when</b></p><table><tr><th>fault</th><th>kind</th><th>target</th>"
                     f"<th>at</th><th>for</th></tr>{rows}</table>")
    else:
        parts.append("<p><b>What breaks</b>: nothing (no fault was applied)</p>")
    rules = sorted({v.invariant for v in evidence.verdicts})
    if rules:
        parts.append("<p><b>What must hold</b>: " + ", ".join(f"<code>{html.escape(r)}</code>" for r in rules)
                     + "</p>")
    return "\n".join(parts)


def in_place(name: str, at: float, attach: Callable[[], object]) -> None:
    """An attachment at this point of the test's body, not after every step: Allure shows a step
    holding only an attachment of its own name as that attachment, where the step is."""
    listener = allure_listener()
    if listener is None:
        return
    from uuid import uuid4

    from allure_commons.model2 import Status, TestStepResult

    uuid = uuid4().hex
    listener.allure_logger.start_step(None, uuid, TestStepResult(name=name, start=int(at * 1000)))
    try:
        attach()
    finally:
        listener.allure_logger.stop_step(uuid, stop=int(at * 1000), status=Status.PASSED)


def write_steps(steps: Sequence[Any], parent: str | None = None) -> None:
    """The story's steps into the current test, each with its own start and stop (not the time of
    writing): allure-pytest's reporter takes the times as given."""
    listener = allure_listener()
    if listener is None:
        return
    from uuid import uuid4

    from allure_commons.model2 import Parameter, Status, StatusDetails, TestStepResult

    reporter = listener.allure_logger
    statuses = {"passed": Status.PASSED, "failed": Status.FAILED, "broken": Status.BROKEN}
    for step in steps:
        uuid = uuid4().hex
        parameters = [Parameter(name=name, value=value) for name, value in step.parameters]
        reporter.start_step(parent, uuid, TestStepResult(name=step.name, start=int(step.start * 1000),
                                                         parameters=parameters))
        write_steps(step.children, uuid)
        details = StatusDetails(message=step.details) if step.details else None
        reporter.stop_step(uuid, stop=int(step.stop * 1000), status=statuses[step.status], statusDetails=details)
