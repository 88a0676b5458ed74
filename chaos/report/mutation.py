"""The mutation score in the HTML report: the last ``evchaos mutants`` matrix as one result of its own.

A report that shows which scenarios passed says little without knowing what the suite would catch;
so when ``reports/mutants.json`` exists, ``evchaos report`` adds it to the Allure results as a
"mutation score" result: passed when every mutant was killed by its own rule, failed otherwise, the
kill matrix as its description and attachment, each mutant as a step. Written into the results
folder before the report is generated, replacing the one from an earlier build.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

RESULT_NAME = "evchaos-mutation-score"
"""Fixed file stem, so a rebuilt report replaces its mutation result instead of adding another."""


def mutation_result(matrix: dict[str, Any]) -> dict[str, Any]:
    """An Allure result (JSON-ready) for one mutants matrix."""
    score = matrix.get("score") or {}
    mutants = [m for m in matrix.get("mutants") or [] if m.get("mutant")]
    total, caught = int(score.get("mutants", len(mutants))), int(score.get("killed_by_their_rule", 0))
    lines = [f"{caught} of {total} mutants killed by their own rule", ""]
    steps = []
    for m in mutants:
        failed = ", ".join(sorted(m.get("scenarios") or {})[:3]) or "-"
        lines.append(f"- {m['mutant']} (rule {m.get('rule')}): {m.get('verdict')}; rules that broke: "
                     f"{', '.join(m.get('rules') or []) or '-'}; failed: {failed}")
        steps.append({"name": f"{m['mutant']}: {m.get('verdict')}", "status": "passed" if m.get("by_its_rule")
                      else "failed", "stage": "finished"})
    text = "\n".join(lines)
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, RESULT_NAME)),
        "historyId": RESULT_NAME,
        "name": f"Mutation score: {caught} of {total} mutants killed by their own rule",
        "fullName": "evchaos.mutants",
        "status": "passed" if total and caught == total else "failed",
        "stage": "finished",
        "description": text,
        "steps": steps,
        "labels": [{"name": "suite", "value": "mutation score"}, {"name": "feature", "value": "mutation score"}],
        "attachments": [{"name": "kill matrix (JSON)", "source": f"{RESULT_NAME}-attachment.json",
                         "type": "application/json"}],
    }


def add_mutation_result(results: Path, matrix_path: Path) -> Path | None:
    """Write the matrix at ``matrix_path`` (if any) into ``results`` as a result; its path, or None.

    Only beside a run's results: a mutation score alone is no report, and a missing or empty results
    folder must still fail with its own clear message."""
    runs = [f for f in results.glob("*-result.json") if not f.name.startswith(RESULT_NAME)] if results.is_dir() else []
    if not matrix_path.exists() or not runs:
        return None
    matrix = json.loads(matrix_path.read_text())
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{RESULT_NAME}-attachment.json").write_text(json.dumps(matrix, indent=2))
    target = results / f"{RESULT_NAME}-result.json"
    made = int(matrix_path.stat().st_mtime * 1000)
    target.write_text(json.dumps({**mutation_result(matrix), "start": made, "stop": made}, indent=2))
    return target
