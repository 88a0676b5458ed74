"""Allure attachments and labels, checked in the result files a real allure-pytest run writes."""

from __future__ import annotations

import gzip
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
from chaos.report.allure import enabled
from chaos.report.page import RunEvidence, attach_run


def test_scenario(tmp_path):
    history = History.load({history!r})
    log = tmp_path / "central.log"
    log.write_text("central started\\n")
    chatty = tmp_path / "cp.log"
    chatty.write_text("".join(f"line {{i}} of a chatty engine\\n" for i in range(20000)))
    schedule = Schedule((Step(3, "timeout", "driver", 10, name="driver link timeout"),
                         Step(8, "pause", "broker-1", 3)), quiet=5, seed=7)
    attach_run(RunEvidence(
        suite="link faults", history=history, schedule=schedule, components=["driver"],
        verdicts=run_checks(history, InvariantSpec(transient_limits={{"reserved": 15}})),
        logs={{"central": log, "driver": tmp_path / "missing.log", "cp": chatty}},
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
    first = [(step["name"], [a["name"] for a in step["attachments"]]) for step in result["steps"][:2]]
    assert first == [("timeline", ["timeline"]), ("verdicts", ["verdicts"])], "the body opens with them"
    attachments.update({a["name"]: results / a["source"] for step in result["steps"][:2] for a in step["attachments"]})
    assert list(attachments) == [
        "verdicts.json", "time to recovery", "schedule (seed 7)", "schedule (table)",
        "history.jsonl", "log: central", "log: cp", "log: cp (whole, gzip)", "log: driver", "timeline", "verdicts",
    ], "the evidence after the story, the logs last"
    assert attachments["timeline"].read_bytes()[:4] == b"\x89PNG"
    assert "transient-state-limit [CP_001]" in attachments["verdicts"].read_text()
    assert json.loads(attachments["time to recovery"].read_text()) == {"request_recovery": 1.5}
    assert "driver link timeout" in attachments["schedule (seed 7)"].read_text()
    assert attachments["history.jsonl"].read_text() == Path(str(run_history.path)).read_text()
    assert attachments["log: central"].read_text() == "central started\n"
    assert "no file at" in attachments["log: driver"].read_text()
    cut = attachments["log: cp"].read_text()
    assert len(cut) < 70_000 and cut.startswith("line 0 of") and cut.endswith("line 19999 of a chatty engine\n")
    assert "lines (" in cut and "left out here" in cut
    assert gzip.decompress(attachments["log: cp (whole, gzip)"].read_bytes()).count(b"\n") == 20000
    assert_the_page_tells_the_story_with_its_times(result, run_history)


def assert_the_page_tells_the_story_with_its_times(result: dict[str, Any], run_history: History) -> None:
    """(In the same run: allure-pytest and matplotlib load once per process, and pytester runs in it.)"""
    assert result["name"] == "driver link timeout during a charge", "the scenario is the title"
    description = result["descriptionHtml"]
    assert "What breaks, and when" in description and "<td>broker-1 pause</td><td>pause</td>" in description
    assert '<img alt="timeline"' in description and "data:image/png;base64," in description, "the picture, inlined"
    assert ("broken_rule", "transient-state-limit") in {(lb["name"], lb["value"]) for lb in result["labels"]}
    steps = result["steps"][2:]  # after the timeline and the verdicts
    names = [step["name"] for step in steps]
    assert names[:3] == ["fault driver link timeout: applied, healed after 10.0 s",
                         "fault broker-1 pause: applied, healed after 3.0 s",
                         "fault monitor CP_003 killed: applied, never healed"], names
    epoch_ms = run_history.clock.start_wall.timestamp() * 1000
    assert abs(steps[0]["start"] - (epoch_ms + 3000)) <= 1 and abs(steps[0]["stop"] - (epoch_ms + 13000)) <= 1
    checks = steps[-1]
    assert checks["name"].startswith("checks: ") and "transient-state-limit" in checks["name"]
    assert checks["status"] == "failed"
    verdicts = {step["name"]: step for step in checks["steps"]}
    stuck = verdicts["FAILED: transient-state-limit [CP_001]"]
    assert stuck["status"] == "failed" and "CP_001 reserved for" in stuck["statusDetails"]["message"]
    assert [step["status"] for step in checks["steps"]] == sorted((step["status"] for step in checks["steps"]),
                                                                  key=lambda status: status != "failed")


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
