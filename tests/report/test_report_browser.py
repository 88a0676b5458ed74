"""The built report, opened in a real browser (Debian's headless Chromium, driven by Playwright): a
scenario's page shows its timeline picture without a click, opens its body with the timeline and
the verdicts, and a failed scenario's header says which rules broke and where.

Two scenarios are recorded by a real allure-pytest run (in a subprocess), through the page code the
plugin uses, and the report is built by the real Allure 3 command line, then served on loopback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chaos.core.history import History
from chaos.infra.debian import ensure_binary
from chaos.infra.install import cache_home
from chaos.report import html

pytest_plugins = ["pytester"]

REAL_CACHE = cache_home()  # read at import: pytester moves HOME to a scratch folder for the test

SCENARIOS = """
from types import SimpleNamespace

from chaos.checks import InvariantSpec, run_checks
from chaos.checks.base import Verdict
from chaos.core.history import History
from chaos.core.scenario import ScenarioFailed
from chaos.pytest_plugin import broken_verdicts
from chaos.report.page import RunEvidence, attach_run


def evidence(tmp_path, verdicts):
    return RunEvidence(suite="browser", history=History.load({history!r}), verdicts=verdicts, workdir=tmp_path,
                       doc="A driver's link times out while a charge starts; its CP must not stay reserved.")


def test_a_scenario_that_holds(tmp_path):
    attach_run(evidence(tmp_path, [Verdict("recovery", True, "a fresh request was served 1.2 s after the heal")]))


def test_a_scenario_that_breaks(tmp_path):
    verdicts = run_checks(History.load({history!r}), InvariantSpec(transient_limits={{"reserved": 15}}))
    attach_run(evidence(tmp_path, verdicts))
    raise ScenarioFailed(broken_verdicts(SimpleNamespace(name="driver link timeout", verdicts=verdicts,
                                                         failed=[v for v in verdicts if not v.ok])))
"""


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed first in CI (or with ``EVCHAOS_BROWSER_INSTALL=1``); else a skip
    that says what to install."""
    path, why = ensure_binary(("chromium", "chromium-browser"), "chromium", "EVCHAOS_BROWSER_INSTALL")
    if path is None:
        pytest.skip(why)
    return path


@pytest.fixture
def report(pytester: pytest.Pytester, run_history: History, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EVCHAOS_HOME", str(REAL_CACHE))  # the installed Allure, not a fresh npm install
    pytester.makepyfile(SCENARIOS.format(history=str(run_history.path)))
    results = pytester.path / "allure-results"
    ran = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--alluredir={results}")
    ran.assert_outcomes(passed=1, failed=1)
    return html.build_report(results, pytester.path / "html").parent


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def page_ids(folder: Path) -> dict[str, str]:
    """Test name -> its page's id in the built report."""
    found = {}
    for path in (folder / "data" / "test-results").glob("*.json"):
        result = json.loads(path.read_text())
        found[result["fullName"].rsplit("#", 1)[-1].split(".")[-1]] = path.stem
    return found


def test_a_scenario_page_shows_its_timeline_and_a_failed_one_its_broken_rules(
    chromium: str, report: Path, tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    ids = page_ids(report)
    shots = Path(os.environ.get("EVCHAOS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with served(report) as index, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{index}#/{ids['test_a_scenario_that_holds']}")
            page.wait_for_selector("text=Test body", timeout=30_000)
            title = page.get_by_text("driver link timeout during a charge").first
            assert title.is_visible(), "the scenario is the title"
            pictures = [img for frame in page.frames for img in frame.query_selector_all("img[alt=timeline]")]
            assert pictures and pictures[0].evaluate("img => img.complete && img.naturalWidth") > 600, \
                "the timeline picture is drawn on the page, no click needed"
            body = page.get_by_text("Test body").locator("xpath=ancestor::*[3]").inner_text()
            assert body.index("timeline") < body.index("verdicts") < body.index("fault driver link timeout"), body
            page.screenshot(path=str(shots / "passing-scenario.png"), full_page=True)

            page.goto(f"{index}#/{ids['test_a_scenario_that_breaks']}")
            page.wait_for_selector("text=broken rules", timeout=30_000)
            header = page.get_by_text("broken rules").first.inner_text()
            assert "driver link timeout: broken rules: " in header and "transient-state-limit" in header, header
            assert "[transient-state-limit CP_001] CP_001 reserved for" in page.content()
            assert page.get_by_text("Category: broken rule: ").first.is_visible(), "filed under its first broken rule"
            page.screenshot(path=str(shots / "failing-scenario.png"), full_page=True)
        finally:
            browser.close()
