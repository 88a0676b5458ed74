"""``evchaos report``: build the Allure HTML from ``reports/allure-results`` with the Allure 3 command line.

Allure 3 is an npm package (``allure``) that needs Node only, no Java, so the project installs it
itself: ``npm install --prefix <cache>/allure-<version> allure@<version>``, once, into the same cache as
Kafka and Toxiproxy, with a marker file written last so a later run costs one ``stat``. The version is
pinned in ``chaos.infra.versions`` so every machine renders the same report.

The report is generated into a temporary sibling folder and then swapped in, so a failed build never
leaves a half-written ``reports/html`` behind, and an old report never mixes with a new one.

Two things are kept between runs, beside the results (``reports/``): Allure's history
(``history.jsonl``, one line per report built: what trends, and which tests flip between passed and
failed, are made of), and the categories, one per rule of the checks' registry: a failed scenario
is filed under the first rule it broke (its ``broken_rule`` labels, ``chaos.report.allure``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from chaos.infra import versions
from chaos.infra.install import MARKER, InstallError, cache_home, progress, run_streaming

MIN_NODE = 20
DEFAULT_RESULTS = Path("reports/allure-results")
DEFAULT_OUT = Path("reports/html")
HISTORY_FILE = "history.jsonl"
"""Allure's history, next to the results folder (``reports/history.jsonl``), kept across runs."""


class NoResultsError(FileNotFoundError):
    """There is nothing to report yet: the results folder is missing or holds no test result."""


class ReportError(RuntimeError):
    """The Allure command line ran but did not produce a report."""


def allure_home() -> Path:
    return cache_home() / f"allure-{versions.ALLURE_VERSION}"


def allure_bin(home: Path | None = None) -> Path:
    """The installed command's JavaScript entry point (run with ``node``; no reliance on shebangs)."""
    return (home or allure_home()) / "node_modules" / "allure" / "cli.js"


def allure_ready(home: Path | None = None) -> bool:
    home = home or allure_home()
    return (home / MARKER).exists() and allure_bin(home).exists()


def check_node() -> None:
    """``node`` (Node.js 20+) and ``npm`` must be on PATH; the error names the version needed."""
    need = f"Node.js {MIN_NODE} or newer with npm (Allure {versions.ALLURE_VERSION} is an npm package)"
    node = shutil.which("node")
    if node is None:
        raise InstallError(f"`node` not found on PATH: install {need}, e.g. apt-get install nodejs npm")
    if shutil.which("npm") is None:
        raise InstallError(f"`npm` not found on PATH: install {need}, e.g. apt-get install npm")
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    match = re.match(r"v?(\d+)", out)
    if not match or int(match.group(1)) < MIN_NODE:
        raise InstallError(f"`node` is too old ({out or '?'}): need {need}")


def install_allure(force: bool = False, home: Path | None = None) -> Path:
    """Install the pinned Allure 3 command line if it is missing; return its entry point."""
    home = home or allure_home()
    if allure_ready(home) and not force:
        progress(f"allure {versions.ALLURE_VERSION}: already installed ({home})")
        return allure_bin(home)
    check_node()
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).unlink(missing_ok=True)
    progress(f"installing allure@{versions.ALLURE_VERSION} with npm into {home} (about 10 s, once)")
    argv = [
        "npm", "install", "--prefix", str(home), "--no-audit", "--no-fund", f"allure@{versions.ALLURE_VERSION}",
    ]
    run_streaming(argv, dict(os.environ), re.compile(r"^added|^npm (error|warn|ERR)"), "npm")
    entry = allure_bin(home)
    if not entry.exists():
        raise InstallError(f"npm finished but {entry} is missing; remove {home} and try again")
    (home / MARKER).write_text(versions.ALLURE_VERSION + "\n")
    progress(f"allure ready: {entry}")
    return entry


def result_files(results: Path) -> list[Path]:
    return sorted(results.glob("*-result.json")) if results.is_dir() else []


def check_results(results: Path) -> int:
    """How many test results ``results`` holds; raises ``NoResultsError`` with the next step if none."""
    found = result_files(results)
    if not found:
        state = "does not exist" if not results.exists() else "holds no *-result.json"
        raise NoResultsError(
            f"no Allure results yet: {results} {state}. Run the scenarios first "
            "(`tox -e chaos` or `pytest scenarios --alluredir=reports/allure-results`)"
        )
    return len(found)


def _replace_dir(new: Path, out: Path) -> None:
    """Swap ``new`` in at ``out``, refusing to delete a folder that is not a generated report."""
    if out.exists():
        if any(out.iterdir()) and not (out / "index.html").exists():
            raise ReportError(f"{out} exists and is not an Allure report (no index.html); choose another --out")
        shutil.rmtree(out)
    new.rename(out)


def build_report(
    results: Path = DEFAULT_RESULTS, out: Path = DEFAULT_OUT, name: str = "Resilience report",
    install: bool = True,
) -> Path:
    """Generate the HTML report from ``results`` into ``out``; return the path of its ``index.html``."""
    count = check_results(results)
    entry = install_allure() if install else allure_bin()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    config = staging / "allurerc.json"
    config.write_text(json.dumps(allure_config(results.resolve().parent / HISTORY_FILE), indent=2))
    readable = Path(tempfile.mkdtemp(prefix=f".{out.name}-results-", dir=out.parent))
    without_fixture_noise(results, readable)
    argv = ["node", str(entry), "generate", str(readable.resolve()), "--output", str(staging.resolve()),
            "--report-name", name, "--config", str(config.resolve())]
    print(f"[evchaos report] generating the report from {count} result(s) in {results}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=staging)
        if done.returncode != 0 or not (staging / "index.html").exists():
            raise ReportError(
                f"allure generate failed (exit {done.returncode}): {' '.join(argv)}\n{done.stdout}\n{done.stderr}"
            )
        config.unlink()
        _replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(readable, ignore_errors=True)
    return out / "index.html"


def without_fixture_noise(results: Path, into: Path) -> None:
    """``results`` as the report should read them: every file linked as it is, but the fixtures
    that set up and tore down fine left out (a scenario's page listed 9 set-up and 14 tear-down rows
    before its story); a fixture that failed or broke is kept, it is part of why a test failed."""
    for source in results.iterdir():
        target = into / source.name
        if not source.name.endswith("-container.json"):
            try:
                os.link(source, target)
            except OSError:  # another file system: a copy then
                shutil.copy2(source, target)
            continue
        container = json.loads(source.read_text())
        for side in ("befores", "afters"):
            container[side] = [f for f in container.get(side) or [] if f.get("status") not in (None, "passed")]
        if container["befores"] or container["afters"]:
            target.write_text(json.dumps(container))


def allure_config(history: Path) -> dict[str, object]:
    """The Allure 3 configuration: the history file kept across runs, and a category per rule."""
    from chaos.checks import check_names
    from chaos.report.page import BROKEN_RULE

    rules = [{"name": f"broken rule: {rule}", "matchers": {"labels": {BROKEN_RULE: f"^{re.escape(rule)}$"}}}
             for rule in check_names()]
    # the steps open: a test's page shows its timeline, verdicts and story without a click
    awesome = {"options": {"stepTreeExpansion": "expanded"}}
    return {"historyPath": str(history), "categories": {"rules": rules}, "plugins": {"awesome": awesome}}
