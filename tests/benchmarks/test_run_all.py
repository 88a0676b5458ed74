"""run_all's argument handling, plan and goal table, without running any benchmark."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import run_all
from benchmarks.common import goal

NAMES = ["infra", "central", "driver_recovery"]


def test_available_lists_existing_benchmarks_in_order(tmp_path: Path) -> None:
    for name in ("suite", "central", "infra"):
        (tmp_path / f"{name}.py").write_text("")
    assert run_all.available(tmp_path) == ["infra", "central", "suite"]


def test_plan_runs_everything_by_default() -> None:
    steps = run_all.plan(run_all.parse_args([], NAMES), NAMES)
    assert [name for name, _ in steps] == NAMES
    assert all(argv[0] == sys.executable and "--quick" not in argv for _, argv in steps)


def test_quick_and_only_are_passed_through() -> None:
    steps = run_all.plan(run_all.parse_args(["--quick", "--only", "central"], NAMES), NAMES)
    assert [(name, argv[-1]) for name, argv in steps] == [("central", "--quick")]
    assert steps[0][1][1].endswith("central.py")


def test_only_rejects_an_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_all.parse_args(["--only", "nope"], NAMES)
    assert "invalid choice" in capsys.readouterr().err


def test_collect_and_table(tmp_path: Path) -> None:
    rows = [goal("auth/s", 1500.0, ">=", 1000, "/s"), goal("p99", None, "<=", 1.0, " s")]
    (tmp_path / "central.json").write_text(json.dumps({"when": "now", "goal_table": rows}))
    summary = run_all.collect(NAMES, {"central": {"exit": 0, "seconds": 1.0}}, tmp_path)
    assert summary["benchmarks"]["central"]["fresh"] and summary["benchmarks"]["infra"]["json"] is None
    assert [g["met"] for g in summary["goals"]] == [True, False]
    text = run_all.table(summary["goals"])
    assert "| central   | auth/s |" in text and "1500/s" in text and "| n/a" in text and "| no " in text
