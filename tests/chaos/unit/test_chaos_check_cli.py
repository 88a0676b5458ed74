"""``evchaos check HISTORY``: offline verdicts, exit codes and clear errors; and chaos/ stays generic."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from chaos.checks import InvariantSpec, check_names
from chaos.cli.check import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, run_check
from chaos.core.history import History

CHAOS = Path(__file__).resolve().parents[3] / "chaos"
RULES = InvariantSpec(transient_limits={"reserved": 15.0}, request_deadline=30.0, recovery_within=20.0)


@pytest.fixture
def saved(tmp_path: Path, craft: Callable[..., History]) -> Path:
    """A saved run: CP_001 reserved 47.2 s during a driver link timeout, the rules in its meta line."""
    history = craft(
        [
            (0.0, "state", {"states": {"CP_001": "available"}, "keyframe": True}),
            (
                2.0,
                "fault_start",
                {"window": "w1", "name": "driver link timeout", "kind": "timeout", "target": "driver"},
            ),
            (3.12, "state", {"states": {"CP_001": "reserved"}, "keyframe": False}),
            (
                30.0,
                "fault_end",
                {"window": "w1", "name": "driver link timeout", "kind": "timeout", "target": "driver"},
            ),
            (31.0, "invoke", {"op": 1, "process": "driver", "f": "request", "value": None}),
            (32.5, "ok", {"op": 1, "process": "driver", "f": "request", "value": None}),
            (50.32, "state", {"states": {"CP_001": "available"}, "keyframe": False}),
            (51.0, "end", {}),
        ],
        invariants=RULES.to_dict(),
    )
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in history.events))
    return path


def test_a_saved_history_is_judged_by_its_recorded_rules(
    saved: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_check([str(saved)]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert (
        "[FAILED] transient-state-limit: CP_001 reserved for 47.2 s (limit 15 s) since 12:00:03.120, "
        "during 'driver link timeout'; replay with --chaos-seed 7"
    ) in out
    assert "time to recovery: 2.5 s" in out and "request latency: n=1" in out
    assert f"{len(check_names()) - 1} ok, 1 failed" in out  # every registered check ran


def test_flags_override_the_recorded_rules(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check([str(saved), "--limit", "reserved=60", "--seed", "9"]) == EXIT_OK
    assert (
        run_check([str(saved), "--limit", "reserved=15", "--seed", "9", "--check", "transient-state-limit"])
        == 1
    )
    assert "--chaos-seed 9" in capsys.readouterr().out
    assert run_check([str(saved), "--limit", "reserved=60", "--recovery", "1"]) == EXIT_FAILED


def test_json_output(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check([str(saved), "--json"]) == EXIT_FAILED
    report = json.loads(capsys.readouterr().out)
    [bad] = [v for v in report["verdicts"] if not v["ok"]]
    assert bad["resource"] == "CP_001" and bad["windows"] == ["driver link timeout"] and bad["seed"] == 7
    assert report["measures"]["recovery"]["request_recovery"] == pytest.approx(2.5)


def test_a_history_without_recorded_rules_uses_defaults(tmp_path: Path) -> None:
    with History(tmp_path / "plain.jsonl") as history:
        history.ok(history.invoke("c", "write"))
    assert run_check([str(tmp_path / "plain.jsonl")]) == EXIT_OK


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{missing}"], "cannot read history"),
        (["{garbage}"], ":2: not a JSON object"),
        (["{saved}", "--limit", "reserved"], "write STATE=SECONDS, e.g. --limit pending=15"),
        (["{saved}", "--limit", "reserved=-1"], "cannot be negative"),
        (["{saved}", "--check", "nope"], "invalid choice: 'nope'"),
        ([], "the following arguments are required: history"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, saved: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text(saved.read_text().splitlines()[0] + "\nnot json\n{}\n")
    paths = {"missing": str(tmp_path / "missing.jsonl"), "garbage": str(garbage), "saved": str(saved)}
    assert run_check([arg.format(**paths) for arg in argv]) == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check(["--help"]) == EXIT_OK
    assert "STATE=SECONDS" in capsys.readouterr().out


def test_the_harness_never_imports_the_system_under_test() -> None:
    offenders = [
        f"{path.relative_to(CHAOS.parent)}:{number}"
        for path in CHAOS.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.match(r"\s*(from|import)\s+system\b", line)
    ]
    assert offenders == []
