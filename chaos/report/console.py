"""The plain summary table printed at the end of a chaos run: scenario, verdict, time to recovery, seed.

A person should see what failed without opening the HTML: one row per scenario, fixed-width, plain
ASCII (no colour library, readable in any CI log), and the seed to replay a failure on the same row.
Scenarios record rows into a ``SummaryCollector`` while they run; ``chaos.report.pytest_hooks`` prints
it in ``pytest_terminal_summary``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chaos.checks.base import Verdict

COLUMNS = ("scenario", "verdict", "recovery", "seed")
MAX_WIDTH = {"scenario": 48, "verdict": 56, "recovery": 10, "seed": 12}


def format_seconds(value: float | None, healed: bool = True) -> str:
    """``3.2 s``; ``never`` when a heal happened but nothing recovered; ``-`` when there was no heal."""
    if value is None:
        return "never" if healed else "-"
    return f"{value:.1f} s"


@dataclass(frozen=True)
class SummaryRow:
    """One scenario's line: ``ok`` is the overall outcome, ``verdict`` the words shown for it."""

    scenario: str
    ok: bool
    verdict: str
    recovery: str = "-"
    seed: int | None = None

    @classmethod
    def from_verdicts(
        cls,
        scenario: str,
        verdicts: Sequence[Verdict],
        recovery: float | None = None,
        healed: bool = True,
        seed: int | None = None,
    ) -> SummaryRow:
        """``ok``, or ``FAILED`` with the broken invariants and resources (``reserved-ttl CP_001``)."""
        failed = [v for v in verdicts if not v.ok]
        if failed:
            broken = sorted({f"{v.invariant} {v.resource or ''}".strip() for v in failed})
            text = "FAILED: " + ", ".join(broken)
        else:
            text = "ok" if verdicts else "ok (no checks)"
        seeds = [v.seed for v in verdicts if v.seed is not None]
        return cls(scenario, not failed, text, format_seconds(recovery, healed),
                   seed if seed is not None else (seeds[0] if seeds else None))

    def cells(self) -> dict[str, str]:
        return {
            "scenario": self.scenario,
            "verdict": self.verdict,
            "recovery": self.recovery,
            "seed": "-" if self.seed is None else str(self.seed),
        }


class SummaryCollector:
    """Rows recorded during a session (thread-safe: scenarios may finish on worker threads)."""

    def __init__(self) -> None:
        self._rows: list[SummaryRow] = []
        self._lock = threading.Lock()

    def add(self, row: SummaryRow) -> SummaryRow:
        with self._lock:
            self._rows.append(row)
        return row

    def record(self, scenario: str, verdicts: Sequence[Verdict], **figures: Any) -> SummaryRow:
        """``add(SummaryRow.from_verdicts(scenario, verdicts, recovery=..., healed=..., seed=...))``."""
        return self.add(SummaryRow.from_verdicts(scenario, verdicts, **figures))

    @property
    def rows(self) -> list[SummaryRow]:
        with self._lock:
            return list(self._rows)

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(rows: Sequence[SummaryRow]) -> str:
    """The table with a header, a rule and a closing count line; columns sized to their content."""
    cells = [{k: _fit(v, MAX_WIDTH[k]) for k, v in row.cells().items()} for row in rows]
    widths = {k: max([len(k), *(len(c[k]) for c in cells)]) for k in COLUMNS}

    def line(values: dict[str, str]) -> str:
        return "  ".join(values[k].ljust(widths[k]) for k in COLUMNS).rstrip()

    rule = "  ".join("-" * widths[k] for k in COLUMNS)
    failed = sum(1 for row in rows if not row.ok)
    total = f"{len(rows)} scenario(s): {len(rows) - failed} ok, {failed} failed"
    return "\n".join([line({k: k for k in COLUMNS}), rule, *(line(c) for c in cells), rule, total])


def format_pass_rates(rows: Sequence[SummaryRow]) -> str | None:
    """Per scenario run more than once (``--chaos-repeat N``): runs, passes, the rate and what broke.

    None when every scenario ran once. A scenario below 100 % on unchanged code is a flake to find,
    in the system or in the harness: this table is where it shows.
    """
    runs: dict[str, list[SummaryRow]] = {}
    for row in rows:
        runs.setdefault(row.scenario, []).append(row)
    if all(len(group) == 1 for group in runs.values()):
        return None
    lines = []
    for name, group in sorted(runs.items(), key=lambda item: (sum(r.ok for r in item[1]) / len(item[1]), item[0])):
        passed = sum(row.ok for row in group)
        broke = sorted({row.verdict.removeprefix("FAILED: ") for row in group if not row.ok})
        lines.append(f"{passed}/{len(group)}  {100 * passed / len(group):5.1f} %  {_fit(name, 48):<48}  "
                     + ("; ".join(broke) if broke else ""))
    flaky = sum(1 for group in runs.values() if not all(r.ok for r in group))
    lines.append(f"{len(runs)} scenario(s) repeated; {flaky} did not pass every run")
    return "\n".join(lines)


def print_summary(rows: Sequence[SummaryRow], write: Callable[[str], object] = print,
                  title: str = "chaos summary") -> None:
    """Print the table through ``write`` (``print`` or a terminal reporter's ``write_line``)."""
    if not rows:
        return
    write(f"== {title} ==")
    for text in format_table(rows).splitlines():
        write(text)
