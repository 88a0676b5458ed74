"""``evchaos report``: the Allure 3 command line installed from npm builds HTML from real results."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from chaos.cli.main import main
from chaos.infra.install import InstallError, cache_home
from chaos.report import html

pytest_plugins = ["pytester"]


def test_no_results_gives_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--results", str(tmp_path / "none"), "--out", str(tmp_path / "html")]) == 2
    err = capsys.readouterr().err
    assert "no Allure results yet" in err and "does not exist" in err and "tox -e chaos" in err
    (tmp_path / "empty").mkdir()
    with pytest.raises(html.NoResultsError, match=r"holds no \*-result.json"):
        html.check_results(tmp_path / "empty")


def test_missing_node_names_the_version_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(InstallError, match=r"`node` not found on PATH: install Node.js 20 or newer"):
        html.check_node()


REAL_CACHE = cache_home()  # read at import: pytester moves HOME to a scratch folder for the test


def test_report_is_built_from_a_real_allure_run(
    pytester: pytest.Pytester, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVCHAOS_HOME", str(REAL_CACHE))  # the installed Allure, not a fresh npm install
    if shutil.which("node") is None:
        pytest.fail("node is needed to build the report (Node.js 20+)")
    pytester.makepyfile(
        """
        import allure

        def test_cp_recovers():
            allure.dynamic.label("fault_kind", "timeout")

        def test_cp_stuck():
            allure.dynamic.label("broken_rule", "transient-state-limit")
            assert False, "CP_001 reserved for 47.2 s (limit 15 s)"
        """
    )
    results = pytester.path / "allure-results"
    pytester.runpytest("-p", "no:cacheprovider", f"--alluredir={results}").assert_outcomes(passed=1, failed=1)
    capsys.readouterr()
    out = tmp_path / "reports" / "html"
    out.mkdir(parents=True)
    (out / "index.html").write_text("an old report")  # replaced, not mixed with the new one
    (out / "stale.txt").write_text("old")

    assert main(["report", "--results", str(results), "--out", str(out)]) == 0

    index = out / "index.html"
    assert capsys.readouterr().out.strip() == f"report: {index.resolve()}"
    assert "<html" in index.read_text().lower() and not (out / "stale.txt").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stats"]["total"] == 2 and summary["stats"]["failed"] == 1
    assert html.allure_ready() and html.install_allure() == html.allure_bin()  # second call: no npm
    categories = json.loads((out / "widgets" / "categories.json").read_text())["nodes"].values()
    assert {"broken rule: transient-state-limit"} <= {node["name"] for node in categories if node["type"] == "category"}
    history = results.parent / html.HISTORY_FILE
    assert len(history.read_text().splitlines()) == 1, "each build adds one run to the history kept beside the results"
    monkeypatch.chdir(results.parent)  # relative paths, as `make chaos` gives them
    assert main(["report", "--results", results.name, "--out", os.path.relpath(out, results.parent)]) == 0
    assert len(history.read_text().splitlines()) == 2 and not (out / "allurerc.json").exists()


def test_a_folder_that_is_not_a_report_is_never_replaced(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(html.ReportError, match="not an Allure report"):
        html._replace_dir(staging, precious)
    assert (precious / "notes.txt").read_text() == "keep me"
