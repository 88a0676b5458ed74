"""The mutation-score runner on a tiny real project: patches applied to a copy, the suite run there."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from chaos.mutants import matrix
from chaos.mutants.patches import MutantError, discover, load
from chaos.mutants.runner import Outcome, read_figures, run_suite
from chaos.report.mutation import add_mutation_result

PATCH = """# mutant: {title}
# rule: {rule}
# why: a reviewer would miss it
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a + b  # the sum
+    return {body}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b  # the sum\n")
    (root / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    return root


def write_patch(folder: Path, name: str, body: str, rule: str = "sums") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.patch"
    path.write_text(PATCH.format(title=name.replace("-", " "), rule=rule, body=body))
    return path


def test_a_mutant_the_suite_catches_is_killed_and_one_it_misses_survives(project: Path, tmp_path: Path) -> None:
    patches = tmp_path / "mutants"
    write_patch(patches, "subtracts", "a - b")
    write_patch(patches, "comment-only", "a + b  # the total")
    said: list[str] = []
    comment, subtracts = (run_suite(project, ["test_calc.py"], m, 120, said.append) for m in discover(patches))
    assert comment.mutant == "comment-only" and comment.verdict == "SURVIVED" and not comment.killed
    assert subtracts.mutant == "subtracts" and subtracts.killed and subtracts.failed_tests == ["test_calc::test_add"]
    assert subtracts.verdict == "killed by others only", "no scenario broke the rule 'sums': caught, not by its rule"
    assert (project / "calc.py").read_text().endswith("a + b  # the sum\n"), "the working tree is never touched"
    assert any("subtracts: killed by others only" in line for line in said)


def test_a_patch_that_does_not_apply_is_reported_not_run(project: Path, tmp_path: Path) -> None:
    path = write_patch(tmp_path / "mutants", "stale", "a * b")
    path.write_text(path.read_text().replace("# the sum", "# a line that is not there"))
    outcome = run_suite(project, ["test_calc.py"], load(path), 60, lambda _: None)
    assert not outcome.applied and outcome.verdict == "patch does not apply" and outcome.error


def test_headers_name_the_mutant_and_its_rule(tmp_path: Path) -> None:
    bad = tmp_path / "mutants" / "nameless.patch"
    bad.parent.mkdir()
    bad.write_text("--- a/x\n+++ b/x\n")
    with pytest.raises(MutantError, match=r"nameless.patch: the header lacks # mutant:, # rule:"):
        discover(bad.parent)
    write_patch(bad.parent, "ok", "a - b")
    bad.unlink()
    with pytest.raises(MutantError, match="no mutant named nope; mutants: ok"):
        discover(bad.parent, ["nope"])


def test_rules_come_from_the_scenarios_figures_and_the_matrix_scores_them(tmp_path: Path) -> None:
    figures = tmp_path / "figures.jsonl"
    rows = [{"scenario": "a", "ok": False, "failed": ["nothing-believed"]}, {"scenario": "b", "ok": True, "failed": []}]
    figures.write_text("\n".join(json.dumps(r) for r in rows))
    outcome = Outcome("naive-decoding", "nothing-believed")
    read_figures(figures, outcome)
    assert outcome.rules == ["nothing-believed"] and outcome.scenarios == {"a": ["nothing-believed"]}
    assert outcome.verdict == "killed by its rule"
    table = matrix.table([Outcome(None, None, passed=3), outcome])
    assert "naive-decoding" in table and "1 of 1 mutants killed by their own rule" in table
    saved = json.loads(matrix.write([outcome], tmp_path / "m.json").read_text())
    assert saved["score"]["killed_by_their_rule"] == 1 and saved["mutants"][0]["verdict"] == "killed by its rule"


SLOW_SUITE = '''import json, time
from calc import add


def test_breaks_the_rule(request):
    figures = request.config.getoption("--chaos-figures")
    if add(2, 3) != 5:
        with open(figures, "a") as out:
            out.write(json.dumps({"scenario": "sums scenario", "ok": False, "failed": ["sums"]}) + "\\n")


def test_slow_rest_of_the_suite():
    time.sleep(600)
'''


def test_a_run_stops_once_the_mutants_own_rule_broke(project: Path, tmp_path: Path) -> None:
    (project / "test_calc.py").write_text(SLOW_SUITE)
    mutant = load(write_patch(tmp_path / "mutants", "subtracts", "a - b"))
    started = time.monotonic()
    outcome = run_suite(project, ["test_calc.py"], mutant, 300, lambda _: None)
    assert outcome.stopped_early and outcome.by_its_rule and outcome.verdict == "killed by its rule"
    assert outcome.scenarios == {"sums scenario": ["sums"]}
    assert time.monotonic() - started < 120, "the ten-minute test was not waited for"


def test_the_mutation_score_becomes_a_report_result(tmp_path: Path) -> None:
    outcomes = [Outcome("subtracts", "sums", rules=["sums"]), Outcome("comment-only", "sums")]
    matrix_path = matrix.write(outcomes, tmp_path / "mutants.json")
    assert add_mutation_result(tmp_path / "results", matrix_path) is None, "no run's results: no report"
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a-result.json").write_text("{}")
    written = add_mutation_result(tmp_path / "results", matrix_path)
    assert written is not None
    result = json.loads(written.read_text())
    assert result["name"] == "Mutation score: 1 of 2 mutants killed by their own rule"
    assert result["status"] == "failed" and [s["status"] for s in result["steps"]] == ["passed", "failed"]
    assert (tmp_path / "results" / result["attachments"][0]["source"]).exists()
    assert add_mutation_result(tmp_path / "results", tmp_path / "none.json") is None


REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("mutant", discover(REPO / "mutants"), ids=lambda m: m.name)
def test_every_mutant_of_the_project_still_applies_to_its_code(mutant) -> None:
    """A patch the code moved away from would show up only as "does not apply" in a 30-minute
    ``make mutants``; here it shows in a second (re-make it against the code as it is now)."""
    checked = subprocess.run(["git", "apply", "--check", str(mutant.path)], cwd=REPO, capture_output=True, text=True)
    assert checked.returncode == 0, f"{mutant.path.name} no longer applies: {checked.stderr.strip()}"
