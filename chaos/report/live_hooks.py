"""pytest glue for the live view (``chaos.report.live``): on for ``-m chaos`` runs unless told otherwise.

``--chaos-live auto|on|off`` (``EVCHAOS_LIVE``): ``auto`` shows it when the run selects the chaos
marker (``make chaos`` does). Every process that runs tests writes its status file; the process
that reports (the xdist controller, or the only process) shows the view. The folder of status files
travels to the workers in their ``workerinput``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from chaos.report.live import LiveView, Progress, StatusWriter

WORKER_KEY = "evchaos_live"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("evchaos").addoption(
        "--chaos-live", choices=("auto", "on", "off"), default=os.environ.get("EVCHAOS_LIVE", "auto"),
        help="the live view of running scenarios, their faults, counts and time left: auto (for -m chaos), "
        "on, off. A panel on a terminal, a line every 30 s elsewhere. Env: EVCHAOS_LIVE",
    )


def pytest_configure(config: pytest.Config) -> None:
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None:
        if worker_input.get(WORKER_KEY):
            config.pluginmanager.register(LivePlugin(config, Path(worker_input[WORKER_KEY])), "evchaos-live")
        return
    mode = config.getoption("--chaos-live")
    if mode == "on" or (mode == "auto" and "chaos" in (config.getoption("markexpr") or "")):
        config.pluginmanager.register(LivePlugin(config, Path(tempfile.mkdtemp(prefix="evchaos-live-"))),
                                      "evchaos-live")


class LivePlugin:
    """One per process: its status writer if it runs tests, the view if it reports."""

    def __init__(self, config: pytest.Config, folder: Path) -> None:
        self.config, self.folder = config, folder
        self.reporting = not hasattr(config, "workerinput")
        self.workers = int(getattr(config.option, "numprocesses", 0) or 0)
        self.current: list[Any] = []  # [nodeid, started, item] of the test running here now
        self.progress: Progress | None = None
        self.view: LiveView | None = None
        self.restore: tuple[Any, Any] | None = None
        self.writer: StatusWriter | None = None
        if not self.reporting or not self.workers:  # this process runs tests
            name = getattr(config, "workerinput", {}).get("workerid", "main")
            self.writer = StatusWriter(folder, str(name), self.status)
            self.writer.start()

    def status(self) -> dict[str, Any] | None:
        """The running test and each of its scenarios' open faults (epoch times), for the status file."""
        from chaos.pytest_plugin import SCENARIOS

        if not self.current:
            return None
        nodeid, started, item = self.current
        scenarios = []
        for scenario in item.stash.get(SCENARIOS, []):
            epoch = scenario.history.clock.start_wall.timestamp()
            scenarios.append({"name": scenario.name,
                              "faults": [(name, epoch + since) for name, since in scenario.history.open_faults()]})
        return {"test": nodeid.rsplit("::", 1)[-1], "started": started, "scenarios": scenarios}

    # -- every process that runs tests -------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, Any, None]:
        self.current[:] = [item.nodeid, time.time(), item]
        yield
        self.current.clear()

    # -- the process that reports ------------------------------------------------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKER_KEY] = str(self.folder)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.reporting and not self.workers:
            self.start_view(len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.start_view(len(ids))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count each test once: at its call, or at a set-up that failed or skipped it."""
        if self.progress is not None and (report.when == "call" or (report.when == "setup" and not report.passed)):
            self.progress.record(report.outcome, float(report.duration))

    def start_view(self, total: int) -> None:
        if not self.reporting or self.view is not None:
            return
        self.progress = Progress(total=total, workers=max(1, self.workers))
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        # the panel in an xdist controller only: a process that also runs tests captures its output
        # while a test runs, and a plain line then needs the capture suspended for it
        tty = sys.stdout.isatty() and terminal is not None and self.workers > 0

        def write_line(text: str) -> None:
            if terminal is None:
                return
            if capture is not None and not self.workers:
                with capture.global_and_fixture_disabled():
                    terminal.write_line(text)
            else:
                terminal.write_line(text)

        def above_the_panel(console: Any) -> None:
            """pytest's own lines scroll above the panel instead of through it."""
            from rich.file_proxy import FileProxy

            writer = terminal._tw  # its TerminalWriter: the one file pytest prints through
            self.restore = (writer, writer._file)
            writer._file = FileProxy(console, writer._file)

        self.view = LiveView(self.folder, self.progress, write_line, tty)
        self.view.start(above_the_panel if tty else None)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.view is not None:
            self.view.stop()
        if self.restore is not None:
            writer, original = self.restore
            writer._file = original
        if self.writer is not None:
            self.writer.stop()
        if self.reporting:
            shutil.rmtree(self.folder, ignore_errors=True)
