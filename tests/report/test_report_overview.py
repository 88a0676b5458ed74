"""The suite overview: a fault kind x component matrix and the recovery times, from one run's figures."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.report.overview import RESULT_NAME, add_overview_result, matrix

FIGURES = [
    {"scenario": "central link cut", "ok": True, "failed": [], "recovery_s": 0.8,
     "faults": [["link-down", "central"]]},
    {"scenario": "central link cut again", "ok": True, "failed": [], "recovery_s": 1.2,
     "faults": [["link-down", "central"]]},
    {"scenario": "leader kill", "ok": False, "failed": ["recovery"], "recovery_s": None,
     "faults": [["kill", "broker"], ["link-down", "cp"]]},
]


def test_each_scenario_counts_in_the_cell_of_every_fault_it_had() -> None:
    cells = matrix(FIGURES)
    assert set(cells) == {("link-down", "central"), ("kill", "broker"), ("link-down", "cp")}
    central = cells[("link-down", "central")]
    assert (central.held, central.broken, central.label) == (2, 0, "2/2\n1.0 s")
    assert (cells[("kill", "broker")].held, cells[("kill", "broker")].broken) == (0, 1)


def test_the_overview_is_written_beside_the_results_and_into_the_report(tmp_path: Path) -> None:
    results = tmp_path / "allure-results"
    results.mkdir()
    figures = tmp_path / "chaos-figures.jsonl"
    figures.write_text("".join(json.dumps(row) + "\n" for row in FIGURES))
    mutants = tmp_path / "mutants.json"
    mutants.write_text(json.dumps({"mutants": [{"mutant": "ticket-upsert", "rule": "exactly-once",
                                                "verdict": "killed by its rule"}]}))
    page = add_overview_result(results, figures, mutants)
    assert page == tmp_path / "overview.html" and (tmp_path / "overview.png").read_bytes()[:4] == b"\x89PNG"
    text = page.read_text()
    assert "data:image/png;base64," in text and "<td>leader kill</td><td>recovery</td>" in text
    assert "<td>ticket-upsert</td><td>exactly-once</td>" in text, "the kill matrix when there is one"
    result = json.loads((results / f"{RESULT_NAME}-result.json").read_text())
    assert result["name"] == "Suite overview: 2 of 3 scenarios held" and result["status"] == "failed"
    assert add_overview_result(results, tmp_path / "none.jsonl", mutants) is None, "no figures, no overview"
