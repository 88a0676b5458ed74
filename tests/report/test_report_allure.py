"""Allure attachments and labels, checked in the result files a real allure-pytest run writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chaos.checks.base import Verdict
from chaos.core.history import History
from chaos.report import allure as report

pytest_plugins = ["pytester"]

SCENARIO = """
from pathlib import Path

from chaos.checks import InvariantSpec, run_checks
from chaos.core.history import History
from chaos.nemesis.schedule import Schedule, Step
from chaos.report.allure import RunEvidence, attach_run, enabled


def test_scenario(tmp_path):
    history = History.load({history!r})
    log = tmp_path / "central.log"
    log.write_text("central started\\n")
    schedule = Schedule((Step(3, "timeout", "driver", 10, name="driver link timeout"),
                         Step(8, "pause", "broker-1", 3)), quiet=5, seed=7)
    attach_run(RunEvidence(
        suite="link faults", history=history, schedule=schedule, components=["driver"],
        verdicts=run_checks(history, InvariantSpec(transient_limits={{"reserved": 15}})),
        logs={{"central": log, "driver": tmp_path / "missing.log"}},
        recovery={{"request_recovery": 1.5}}, workdir=tmp_path,
    ))
    Path({flag!r}).write_text(str(enabled()))
"""


def run_scenario(pytester: pytest.Pytester, history: History, *args: str) -> tuple[pytest.RunResult, Path]:
    flag = pytester.path / "enabled.txt"
    pytester.makepyfile(SCENARIO.format(history=str(history.path), flag=str(flag)))
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)
    return result, flag


def only_result(results: Path) -> dict[str, Any]:
    files = list(results.glob("*-result.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def test_a_scenario_result_carries_labels_and_every_attachment(pytester: pytest.Pytester, run_history: History) -> None:
    results = pytester.path / "allure-results"
    _, flag = run_scenario(pytester, run_history, f"--alluredir={results}")
    assert flag.read_text() == "True"
    result = only_result(results)
    labels = {(label["name"], label["value"]) for label in result["labels"]}
    assert {("suite", "link faults"), ("fault_kind", "timeout"), ("fault_kind", "pause"), ("seed", "7"),
            ("component", "driver"), ("component", "broker-1"), ("tag", "seed:7")} <= labels
    assert {"name": "seed", "value": "7"} in result["parameters"]
    attachments = {a["name"]: results / a["source"] for a in result["attachments"]}
    assert list(attachments) == [
        "verdicts.json", "verdicts", "time to recovery", "timeline", "schedule (seed 7)", "schedule (table)",
        "history.jsonl", "log: central", "log: driver",
    ]
    assert attachments["timeline"].read_bytes()[:4] == b"\x89PNG"
    assert "transient-state-limit [CP_001]" in attachments["verdicts"].read_text()
    assert json.loads(attachments["time to recovery"].read_text()) == {"request_recovery": 1.5}
    assert "driver link timeout" in attachments["schedule (seed 7)"].read_text()
    assert attachments["history.jsonl"].read_text() == Path(str(run_history.path)).read_text()
    assert attachments["log: central"].read_text() == "central started\n"
    assert "no file at" in attachments["log: driver"].read_text()


def test_everything_is_a_no_op_without_alluredir(pytester: pytest.Pytester, run_history: History) -> None:
    _, flag = run_scenario(pytester, run_history)
    assert flag.read_text() == "False"
    assert not list(pytester.path.rglob("timeline.png"))  # the costly plot is skipped too


def test_verdicts_text_lists_failures_first() -> None:
    verdicts = [Verdict("recovery", True, "back in 1 s"), Verdict("ttl", False, "CP_001 stuck", resource="CP_001")]
    text = report.verdicts_text(verdicts)
    assert text.splitlines()[0] == "1 of 2 verdicts FAILED"
    assert text.splitlines()[2].startswith("FAILED  ttl [CP_001]")
    assert report.verdicts_text([]) == "no verdicts (no checks ran)"
