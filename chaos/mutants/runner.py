"""Run the suite once per mutant, each in a fresh copy of the project, and say who killed it.

Why a copy and not a patch in place: the working tree stays untouched whatever happens (a Ctrl-C
mid-run, a patch that half applies), and the copy's code is the one imported: its folders come
first on ``PYTHONPATH``, ahead of the editable install, in the suite and in every service it starts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chaos.mutants.patches import Mutant

Say = Callable[[str], None]


@dataclass
class Outcome:
    """One run of the suite: on a mutant, or on the unchanged project (``mutant`` None)."""

    mutant: str | None
    rule: str | None
    applied: bool = True
    passed: int = 0
    failed_tests: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    """Every rule that broke, over all scenarios of the run."""
    scenarios: dict[str, list[str]] = field(default_factory=dict)
    """Failed scenario -> the rules it broke (empty: it failed without a broken rule, e.g. a timeout)."""
    seconds: float = 0.0
    error: str | None = None
    stopped_early: bool = False
    """The suite was stopped once the mutant's own rule broke (``full`` off): later scenarios did not run."""

    @property
    def killed(self) -> bool:
        return bool(self.failed_tests) or bool(self.rules)

    @property
    def by_its_rule(self) -> bool:
        return self.rule is not None and self.rule in self.rules

    @property
    def verdict(self) -> str:
        if not self.applied:
            return "patch does not apply"
        if self.error:
            return "run failed"
        if self.mutant is None:
            return "clean" if not self.killed else "BASELINE FAILS"
        if self.by_its_rule:
            return "killed by its rule"
        return "killed by others only" if self.killed else "SURVIVED"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "killed": self.killed, "by_its_rule": self.by_its_rule, "verdict": self.verdict}


def project_files(root: Path) -> list[str]:
    """What git tracks, plus new files it does not ignore: the project as it is in the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    return [name for name in listed if name and (root / name).is_file()]


def copy_project(root: Path, into: Path) -> Path:
    for name in project_files(root):
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    return into


def apply(patch: Path, tree: Path) -> str | None:
    """Apply ``patch`` in ``tree``; the error text if it does not apply cleanly (then nothing changed)."""
    check = subprocess.run(["git", "apply", "--check", str(patch.resolve())], cwd=tree, capture_output=True, text=True)
    if check.returncode != 0:
        return check.stderr.strip() or "git apply --check failed"
    subprocess.run(["git", "apply", str(patch.resolve())], cwd=tree, check=True, capture_output=True)
    return None


BASELINE_DIR = "reports/mutants-baseline"
"""Where the baseline run's pytest log and scenario folders are kept (relative to the project)."""


def run_suite(
    root: Path, suite: Sequence[str], mutant: Mutant | None, timeout: float, say: Say, python: str = sys.executable,
    full: bool = False,
) -> Outcome:
    """The suite on a copy of ``root`` (with ``mutant`` applied), judged from its JUnit XML and figures.

    Unless ``full``, a mutant's run stops as soon as a scenario breaks the mutant's own rule: that is
    the verdict the matrix needs, and the rest of the suite would only repeat it (a mutant killed in
    its first minute no longer costs a whole suite). The baseline always runs in full.
    """
    outcome = Outcome(mutant.name if mutant else None, mutant.rule if mutant else None)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="evchaos-mutant-") as tmp:
        tree = copy_project(root, Path(tmp) / "project")
        if mutant is not None:
            problem = apply(mutant.path, tree)
            if problem:
                outcome.applied, outcome.error = False, problem
                return outcome
        junit, figures = Path(tmp) / "junit.xml", Path(tmp) / "figures.jsonl"
        # The baseline's scenario folders outlive the run: a baseline that fails is a flake or a bug
        # to find, and its histories and logs are the evidence (pytest empties the folder first).
        basetemp = root / BASELINE_DIR if mutant is None else Path(tmp) / "basetemp"
        argv = [python, "-m", "pytest", *suite, "-p", "no:cacheprovider", "-q", f"--basetemp={basetemp}",
                f"--junitxml={junit}", f"--chaos-figures={figures}"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(tree / "system")])}
        log = Path(tmp) / "pytest.log"
        watch = mutant.rule if mutant is not None and not full else None
        with log.open("w") as out:
            process = subprocess.Popen(argv, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            finished, judged = wait_suite(process, figures, watch, time.monotonic() + timeout)
            if not finished and judged is not None:
                outcome.stopped_early = True
            elif not finished:
                outcome.error = f"the suite took longer than {timeout:.0f} s"
        if not outcome.stopped_early:
            read_junit(junit, outcome)  # a stopped run's XML would list the scenarios the stop interrupted
        read_figures(figures, outcome, judged)
        if mutant is None:
            basetemp.mkdir(parents=True, exist_ok=True)
            shutil.copy(log, basetemp / "pytest.log")
            if outcome.killed or outcome.error:
                say(f"baseline: its log and every scenario's folder (history, service logs) are kept in {basetemp}")
        if outcome.stopped_early:
            say(f"{mutant.name if mutant else ''}: its rule {watch} broke; the rest of the suite was not run")
        elif not junit.exists() and outcome.error is None:
            tail = "\n".join(log.read_text().splitlines()[-15:])
            outcome.error = f"the suite wrote no results; its log ends:\n{tail}"
    outcome.seconds = round(time.monotonic() - started, 1)
    say(f"{outcome.mutant or 'baseline'}: {outcome.verdict} in {outcome.seconds:.0f} s"
        + (f" ({', '.join(outcome.rules)})" if outcome.rules else ""))
    return outcome


def wait_suite(
    process: subprocess.Popen[bytes], figures: Path, rule: str | None, deadline: float
) -> tuple[bool, int | None]:
    """Wait for the suite to end: (True, None). Stop it early once ``rule`` broke: (False, how many
    figures lines had been written then), or at ``deadline``: (False, None). Only the lines written
    before the stop count: the scenarios the stop itself interrupts fail for that reason alone.

    Stopping is Ctrl-C to the suite's process group (pytest and its workers), so its fixtures tear
    down the services and brokers; whatever still runs a minute later is killed. A Ctrl-C of the
    runner itself stops the suite the same way before it propagates."""
    try:
        while process.poll() is None:
            lines = figure_lines(figures)
            if rule is not None and rule in rules_in(figures, lines):
                stop_group(process)
                return False, lines
            if time.monotonic() > deadline:
                stop_group(process)
                return False, None
            time.sleep(1.0)
    except KeyboardInterrupt:
        stop_group(process)
        raise
    return True, None


def figure_lines(figures: Path) -> int:
    return len(figures.read_text().splitlines()) if figures.exists() else 0


def stop_group(process: subprocess.Popen[bytes], grace: float = 60.0) -> None:
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            if sig is signal.SIGINT:
                os.killpg(process.pid, signal.SIGKILL)  # the workers' and brokers' stragglers
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


def rules_in(figures: Path, lines: int | None = None) -> set[str]:
    """Every rule a scenario broke so far (in the first ``lines`` lines), from the figures file the
    suite appends to."""
    if not figures.exists():
        return set()
    broken: set[str] = set()
    for line in figures.read_text().splitlines()[:lines]:
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line being written
        if not row.get("ok", True):
            broken.update(row.get("failed") or [])
    return broken


def read_junit(path: Path, outcome: Outcome) -> None:
    if not path.exists():
        return
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome.failed_tests.append(name)
        elif case.find("skipped") is None:
            outcome.passed += 1


def read_figures(path: Path, outcome: Outcome, lines: int | None = None) -> None:
    """The failed scenarios and the rules they broke, from the first ``lines`` lines (all: None)."""
    if not path.exists():
        return
    rules: set[str] = set()
    for line in path.read_text().splitlines()[:lines]:
        try:
            row = json.loads(line)
        except ValueError:
            continue  # the line a stopped suite was writing
        if not row.get("ok", True):
            outcome.scenarios[row["scenario"]] = list(row.get("failed") or [])
            rules.update(row.get("failed") or [])
    outcome.rules = sorted(rules)
