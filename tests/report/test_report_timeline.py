"""The timeline PNG: drawn from a history alone, one row per resource, faults in their own lanes."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image

from chaos.checks.views import FaultWindow, fault_windows
from chaos.core.history import History
from chaos.report.timeline import EXTRA_COLORS, fault_lanes, palette, plot_timeline

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_plot_writes_a_png_sized_to_the_resources(run_history: History, tmp_path: Path) -> None:
    out = plot_timeline(run_history, tmp_path / "deep" / "timeline.png")
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    height, width, _ = matplotlib.image.imread(out).shape
    assert width == 1320 and 350 < height < 600  # 11 in x 120 dpi; three rows and two fault lanes


def test_plot_redraws_from_the_saved_file(run_history: History, tmp_path: Path) -> None:
    assert run_history.path is not None
    loaded = History.load(run_history.path)
    out = plot_timeline(loaded.events, tmp_path / "offline.png", title="offline")
    assert out.stat().st_size > 10_000


def test_a_history_without_states_or_faults_still_draws(tmp_path: Path) -> None:
    out = plot_timeline(History(name="empty"), tmp_path / "empty.png")
    assert out.read_bytes()[:8] == PNG_SIGNATURE


def test_the_specs_states_keep_their_colours_and_new_ones_get_stable_ones() -> None:
    spec_colors = {"available": "#4caf50"}
    colors = palette(["available", "zeta", "alpha"], spec_colors)
    assert colors["available"] == "#4caf50"
    assert (colors["alpha"], colors["zeta"]) == EXTRA_COLORS[:2]
    assert palette(["zeta", "alpha"], spec_colors) == colors
    assert palette(["alpha"]) == {"alpha": EXTRA_COLORS[0]}, "a system with no colours of its own still gets a palette"


def test_overlapping_faults_get_separate_lanes(run_history: History) -> None:
    windows = fault_windows(run_history)
    assert [w.name for w in windows] == ["driver link timeout", "broker-1 pause", "monitor CP_003 killed"]
    assert fault_lanes(windows, end=30.0) == [0, 1, 0]
    assert fault_lanes([FaultWindow("w1", "open", "kill", "x", start=1.0)], end=5.0) == [0]
