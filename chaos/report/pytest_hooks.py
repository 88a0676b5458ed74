"""pytest glue for the console summary: one collector per session, printed at the end of the run.

Kept apart from ``chaos.pytest_plugin`` so the plugin only has to register it
(``pytest_plugins = ["chaos.report.pytest_hooks"]``, or ``-p chaos.report.pytest_hooks``). A scenario
records its row through the ``chaos_summary`` fixture; the table is printed only if a row was
recorded, so plain unit-test sessions stay quiet.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from chaos.report.console import SummaryCollector, SummaryRow, format_pass_rates, format_table

SUMMARY_KEY = pytest.StashKey[SummaryCollector]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SUMMARY_KEY] = SummaryCollector()


def summary_of(config: pytest.Config) -> SummaryCollector:
    """The session's collector (created on first use if ``pytest_configure`` did not run here)."""
    return config.stash.setdefault(SUMMARY_KEY, SummaryCollector())


@pytest.fixture
def chaos_summary(request: pytest.FixtureRequest) -> SummaryCollector:
    """``chaos_summary.record(name, verdicts, recovery, seed=...)`` adds this scenario's row."""
    return summary_of(request.config)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    rows = summary_of(config).rows
    if not rows:
        return
    terminalreporter.write_sep("=", "chaos summary")
    for line in format_table(rows).splitlines():
        terminalreporter.write_line(line)
    rates = format_pass_rates(rows)
    if rates is not None:
        terminalreporter.write_sep("=", "chaos pass rates (--chaos-repeat)")
        for line in rates.splitlines():
            terminalreporter.write_line(line)


# -- pytest-xdist: rows recorded in workers travel to the controller, which prints the one table --
def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["chaos_rows"] = [asdict(row) for row in summary_of(session.config).rows]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    collector = summary_of(node.config)
    for row in getattr(node, "workeroutput", {}).get("chaos_rows", []):
        collector.add(SummaryRow(**row))
