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


def test_the_activity_panel_has_a_lane_per_process_hit_and_per_client(run_history) -> None:
    from chaos.report.activity import activity

    lanes, marks = activity(run_history.events, end=30.0)
    assert [(lane.label, lane.segments) for lane in lanes] == [
        ("broker-1", [(8.0, 11.0, "paused")]),
        ("monitor-CP_003", [(22.0, 30.0, "down")]),  # never healed: down to the end
        ("D1", [(3.0, 5.2, "ok")]),
    ]
    assert marks == [], "no message fault, no marks"


def test_a_message_fault_is_marked_with_how_many_of_its_records_were_dead_lettered() -> None:
    from chaos.core.history import History
    from chaos.report.activity import Mark, activity

    history = History(None, name="hostile records")
    window = history.fault_start("hostile records on cp-events", "inject-malformed", "cp-events")
    records = [{"topic": "cp-events", "partition": 0, "offset": n, "expect": "dead-lettered"} for n in range(3)]
    history.fault_end(window, injected=records)
    history.record("dead_letter", topic="cp-events", partition=0, offset=1)
    history.record("dead_letter", topic="cp-events", partition=0, offset=2)
    _, marks = activity(history.events, end=5.0)
    assert [m.label for m in marks] == ["2/3 dead-lettered"] and isinstance(marks[0], Mark)
