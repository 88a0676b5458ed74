"""The suite as a whole, at a glance: which fault kinds on which components held, and how fast it recovered.

From one run's per-scenario figures (``--chaos-figures``, ``chaos.report.figures``): a fault kind x
component matrix (each cell: scenarios that held / that broke, and their median time to recovery),
the distribution of recovery times, and, when ``evchaos mutants`` has left one, the mutation kill
matrix. Written as ``overview.png`` and ``overview.html`` beside the results (artifacts a CI job can
keep), and into the report as a result of its own ("Suite overview"), like the mutation score.
"""

from __future__ import annotations

import base64
import html
import json
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULT_NAME = "evchaos-suite-overview"
"""Fixed file stem: a rebuilt report replaces its overview instead of adding another."""
HELD, BROKEN, EMPTY = "#43a047", "#e53935", "#f5f5f5"


@dataclass
class Cell:
    """The scenarios whose faults included one kind on one component."""

    held: int = 0
    broken: int = 0
    recoveries: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        median = f"\n{statistics.median(self.recoveries):.1f} s" if self.recoveries else ""
        return f"{self.held}/{self.held + self.broken}{median}"


def load_figures(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def matrix(figures: Sequence[dict[str, Any]]) -> dict[tuple[str, str], Cell]:
    """(fault kind, component) -> its cell; a scenario with several faults counts in each of theirs."""
    cells: dict[tuple[str, str], Cell] = {}
    for row in figures:
        for kind, component in row.get("faults") or []:
            cell = cells.setdefault((kind, component), Cell())
            if row.get("ok"):
                cell.held += 1
            else:
                cell.broken += 1
            if row.get("recovery_s") is not None:
                cell.recoveries.append(float(row["recovery_s"]))
    return cells


def plot_overview(figures: Sequence[dict[str, Any]], png: Path) -> Path:
    """The matrix (green: every scenario held, red: one broke) beside the recovery histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = matrix(figures)
    kinds = sorted({k for k, _ in cells})
    components = sorted({c for _, c in cells})
    recoveries = [float(r["recovery_s"]) for r in figures if r.get("recovery_s") is not None]
    width = max(8.0, 1.3 * len(components) + 6)
    fig, (grid, hist) = plt.subplots(1, 2, figsize=(width, max(3.5, 0.45 * len(kinds) + 2)),
                                     gridspec_kw={"width_ratios": [max(1, len(components)), 2.5]})
    for y, kind in enumerate(kinds):
        for x, component in enumerate(components):
            cell = cells.get((kind, component))
            colour = EMPTY if cell is None else (BROKEN if cell.broken else HELD)
            grid.add_patch(plt.Rectangle((x, y), 0.96, 0.92, color=colour))
            if cell is not None:
                grid.text(x + 0.48, y + 0.46, cell.label, ha="center", va="center", fontsize=7, color="white")
    grid.set_xlim(0, max(1, len(components)))
    grid.set_ylim(max(1, len(kinds)), 0)
    grid.set_xticks([x + 0.48 for x in range(len(components))], components, rotation=35, ha="right", fontsize=8)
    grid.set_yticks([y + 0.46 for y in range(len(kinds))], kinds, fontsize=8)
    grid.set_title("fault kind x component: held / scenarios, median recovery", fontsize=9)
    for side in grid.spines.values():
        side.set_visible(False)
    grid.tick_params(length=0)
    if recoveries:
        hist.hist(recoveries, bins=min(20, max(5, len(recoveries) // 2)), color="#1e88e5")
        hist.axvline(statistics.median(recoveries), color="#333333", linestyle="--", linewidth=1)
        hist.set_title(f"time to recovery, {len(recoveries)} scenarios (median {statistics.median(recoveries):.1f} s)",
                       fontsize=9)
    else:
        hist.set_title("time to recovery: none measured", fontsize=9)
    hist.set_xlabel("seconds from the last heal to a fresh request served", fontsize=8)
    hist.set_ylabel("scenarios", fontsize=8)
    held = sum(1 for r in figures if r.get("ok"))
    fig.suptitle(f"{held} of {len(figures)} scenarios held", fontsize=11)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png


def overview_html(figures: Sequence[dict[str, Any]], png: Path, mutants: dict[str, Any] | None) -> str:
    """The picture inlined, the broken scenarios by name, and the kill matrix when there is one."""
    data = base64.b64encode(png.read_bytes()).decode()
    parts = [f'<img alt="suite overview" style="max-width:100%" src="data:image/png;base64,{data}">']
    broken = [r for r in figures if not r.get("ok")]
    if broken:
        rows = "".join(f"<tr><td>{html.escape(str(r['scenario']))}</td><td>{html.escape(', '.join(r['failed']))}"
                       "</td></tr>" for r in broken)
        parts.append(f"<p><b>Broken</b></p><table><tr><th>scenario</th><th>rules</th></tr>{rows}</table>")
    if mutants:
        killed = [m for m in mutants.get("mutants") or [] if m.get("mutant")]
        rows = "".join(
            f"<tr><td>{html.escape(str(m['mutant']))}</td><td>{html.escape(str(m.get('rule')))}</td>"
            f"<td>{html.escape(str(m.get('verdict')))}</td></tr>" for m in killed)
        parts.append("<p><b>Mutation kill matrix</b></p><table><tr><th>mutant</th><th>its rule</th><th>verdict</th>"
                     f"</tr>{rows}</table>")
    return "\n".join(parts)


def add_overview_result(results: Path, figures_path: Path, mutants_path: Path) -> Path | None:
    """Write ``overview.png``/``overview.html`` beside ``results`` and the overview into them as a
    result; the HTML's path, or None when the run left no figures."""
    figures = load_figures(figures_path)
    if not figures or not results.is_dir():
        return None
    folder = results.parent
    png = plot_overview(figures, folder / "overview.png")
    mutants = json.loads(mutants_path.read_text()) if mutants_path.exists() else None
    page = overview_html(figures, png, mutants)
    (folder / "overview.html").write_text(f"<!doctype html><meta charset=utf-8><title>Suite overview</title>{page}")
    (results / f"{RESULT_NAME}-attachment.png").write_bytes(png.read_bytes())
    held = sum(1 for r in figures if r.get("ok"))
    made = int(figures_path.stat().st_mtime * 1000)
    result = {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, RESULT_NAME)), "historyId": RESULT_NAME,
        "name": f"Suite overview: {held} of {len(figures)} scenarios held", "fullName": "evchaos.overview",
        "status": "passed" if held == len(figures) else "failed", "stage": "finished",
        "descriptionHtml": page, "start": made, "stop": made,
        "labels": [{"name": "suite", "value": "suite overview"}],
        "attachments": [{"name": "suite overview", "source": f"{RESULT_NAME}-attachment.png", "type": "image/png"}],
    }
    (results / f"{RESULT_NAME}-result.json").write_text(json.dumps(result, indent=2))
    return folder / "overview.html"
