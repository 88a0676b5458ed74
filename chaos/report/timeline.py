"""A timeline plot of one run: resource states as coloured bands, fault windows shaded and labelled,
and, below, what each process and client was doing (``chaos.report.activity``).

A verdict says "CP_001 reserved for 47 s during 'driver link timeout'"; the picture shows it at a
glance, next to every other resource and every other fault, which is what a person needs to judge
whether the fault caused the state or merely coincided with it. The figure is built from the history
alone (``state_intervals`` and ``fault_windows``), so it can be redrawn offline from a saved file.

Matplotlib runs on the Agg backend (no display, no GUI toolkit), so it works in CI and in containers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from chaos.checks.views import FaultWindow, StateInterval, fault_windows, state_intervals
from chaos.core.history import Event, History
from chaos.report.activity import COLORS as ACTIVITY_COLORS
from chaos.report.activity import LABELS as ACTIVITY_LABELS
from chaos.report.activity import Lane, Mark, activity
from chaos.report.activity import used as activity_kinds

EXTRA_COLORS = ("#00897b", "#8d6e63", "#d81b60", "#7cb342", "#3949ab", "#f4511e", "#546e7a", "#c0ca33")
"""Colours for states the spec gives none (``SystemSpec.state_colors``, recorded in the history's
meta), given out in name order so a state keeps its colour across runs."""

FAULT_COLOR = "#37474f"
"""Slate, not red: red already means the ``fault`` state, and a fault window is a cause, not a state."""
OVER_LIMIT_COLOR = "#212121"
ROW_HEIGHT = 0.62


def palette(states: Iterable[str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A colour per state: the known ones from ``base``, the rest from ``EXTRA_COLORS`` in name order."""
    known = dict(base or {})
    extra = sorted(set(states) - set(known))
    colors = {state: EXTRA_COLORS[i % len(EXTRA_COLORS)] for i, state in enumerate(extra)}
    return {**known, **colors}


def fault_lanes(windows: Sequence[FaultWindow], end: float) -> list[int]:
    """A lane per window so that overlapping windows (and their labels) never sit on each other."""
    lane_ends: list[float] = []
    lanes = []
    for window in windows:
        stop = window.end if window.end is not None else end
        for lane, busy_until in enumerate(lane_ends):
            if window.start >= busy_until:
                lane_ends[lane] = stop
                lanes.append(lane)
                break
        else:
            lane_ends.append(stop)
            lanes.append(len(lane_ends) - 1)
    return lanes


def _draw_faults(ax: Axes, windows: Sequence[FaultWindow], lanes: Sequence[int], end: float) -> None:
    """The top lane: one labelled bar per fault window (hatched when it was never healed)."""
    count = max(lanes, default=0) + 1
    for window, lane in zip(windows, lanes, strict=True):
        stop = window.end if window.end is not None else end
        y = count - 1 - lane
        ax.broken_barh(
            [(window.start, max(stop - window.start, end * 0.002))], (y + 0.15, 0.7),
            facecolors=FAULT_COLOR, alpha=0.85, hatch="//" if window.end is None else None, edgecolor="white",
        )
        label = window.name + ("" if window.end is not None else " (not healed)")
        late = window.start > end * 0.6  # near the right edge: label ends at the bar's end instead
        ax.annotate(
            f"{label}  ·  {stop - window.start:.1f} s", (stop if late else window.start, y + 0.5),
            xytext=(-4 if late else 4, 0), textcoords="offset points",
            va="center", ha="right" if late else "left", fontsize=8.5, color="black", clip_on=False,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
        )
    ax.set_ylim(0, count)
    ax.set_yticks([count / 2])
    ax.set_yticklabels(["faults"], fontweight="bold")
    ax.tick_params(axis="y", length=0)
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)


def _draw_states(
    ax: Axes, intervals: Mapping[str, list[StateInterval]], colors: Mapping[str, str], end: float,
    limits: Mapping[str, float],
) -> bool:
    """One row per resource (first resource on top), one band per state interval; True if any went over limit.

    The part of an interval beyond its state's time limit is cross-hatched, so the broken invariant
    (e.g. "reserved for more than 15 s") is visible without reading the verdicts.
    """
    resources = sorted(intervals)
    over_limit = False
    for row, resource in enumerate(reversed(resources)):
        for interval in intervals[resource]:
            stop = interval.end if interval.end is not None else end
            box = (row - ROW_HEIGHT / 2, ROW_HEIGHT)
            ax.broken_barh([(interval.start, stop - interval.start)], box,
                           facecolors=colors[interval.state], edgecolor="white", linewidth=0.6)
            limit = limits.get(interval.state)
            if limit is not None and stop - interval.start > limit:
                over_limit = True
                ax.broken_barh([(interval.start + limit, stop - interval.start - limit)], box,
                               facecolors="none", edgecolor=OVER_LIMIT_COLOR, hatch="xx", linewidth=0, alpha=0.35)
            if stop - interval.start >= end * 0.08:
                ax.text((interval.start + stop) / 2, row, interval.state, ha="center", va="center",
                        fontsize=7.5, color="white", fontweight="bold", clip_on=True)
    ax.set_yticks(range(len(resources)))
    ax.set_yticklabels(list(reversed(resources)))
    ax.set_ylim(-0.6, max(len(resources), 1) - 0.4)
    ax.tick_params(axis="y", length=0)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    return over_limit


def _shade_windows(ax: Axes, windows: Sequence[FaultWindow], end: float) -> None:
    """Every fault window shaded across all resource rows, with dashed start and dotted heal lines."""
    for window in windows:
        stop = window.end if window.end is not None else end
        ax.axvspan(window.start, stop, color=FAULT_COLOR, alpha=0.08, zorder=0)
        ax.axvline(window.start, color=FAULT_COLOR, linewidth=0.8, linestyle="--", alpha=0.6)
        if window.end is not None:
            ax.axvline(stop, color=FAULT_COLOR, linewidth=0.8, linestyle=":", alpha=0.7)


def _draw_activity(ax: Axes, lanes: Sequence[Lane], marks: Sequence[Mark], end: float) -> None:
    """One row per process and client (processes first, on top), and the message marks along the top."""
    for row, lane in enumerate(reversed(lanes)):
        for start, stop, what in lane.segments:
            ax.broken_barh([(start, max(stop - start, end * 0.002))], (row - ROW_HEIGHT / 2, ROW_HEIGHT),
                           facecolors=ACTIVITY_COLORS[what], edgecolor="white", linewidth=0.4)
    top = max(len(lanes), 1) - 0.4
    for mark in marks:
        ax.plot([mark.t], [top], marker="v", color=FAULT_COLOR, markersize=6, clip_on=False)
        ax.annotate(mark.label, (mark.t, top), xytext=(4, 2), textcoords="offset points", fontsize=7, clip_on=False)
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([lane.label for lane in reversed(lanes)], fontsize=7.5)
    ax.set_ylim(-0.6, top + 0.2)
    ax.tick_params(axis="y", length=0)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)


def _colors_of(meta: Mapping[str, object]) -> dict[str, str]:
    """The spec's state colours, in its legend order, as recorded in the history's meta line."""
    raw = meta.get("state_colors")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def _legend_order(known: Sequence[str]) -> Callable[[str], tuple[int, str]]:
    return lambda state: (known.index(state), "") if state in known else (len(known), state)


def _limits_of(meta: Mapping[str, object]) -> dict[str, float]:
    """The transient-state limits the checks used, as recorded in the history's meta line."""
    invariants = meta.get("invariants")
    raw = invariants.get("transient_limits") if isinstance(invariants, Mapping) else None
    return {str(k): float(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def _title(meta: Mapping[str, object], title: str | None) -> str:
    if title:
        return title
    name, seed = meta.get("name") or "chaos run", meta.get("seed")
    return f"{name}" + ("" if seed is None else f"   (seed {seed})")


def plot_timeline(
    history: History | Sequence[Event], out: Path | str, title: str | None = None,
    limits: Mapping[str, float] | None = None, dpi: int = 120,
) -> Path:
    """Draw the timeline of ``history`` into the PNG ``out`` and return its path.

    ``limits`` (state -> seconds) defaults to the ``transient_limits`` recorded in the history's meta.
    """
    events = list(history)
    meta = events[0] if events and events[0].get("type") == "meta" else {}
    end = max([1.0, *(float(e["t"]) for e in events)])  # at least 1 s, so a tiny run keeps a readable axis
    intervals = state_intervals(events)
    windows = fault_windows(events)
    lanes = fault_lanes(windows, end)
    spec_colors = _colors_of(meta)
    colors = palette({i.state for rows in intervals.values() for i in rows}, spec_colors)

    fault_rows, state_rows = max(lanes, default=0) + 1, max(len(intervals), 1)
    doing, marks = activity(events, end)
    activity_rows = len(doing) * 0.55 + (0.6 if marks else 0)
    height = 1.5 + 0.42 * state_rows + 0.3 * fault_rows + 0.26 * activity_rows
    ratios = [fault_rows * 0.55, state_rows, *([activity_rows] if doing else [])]
    fig, axes = plt.subplots(len(ratios), 1, sharex=True, figsize=(11, height),
                             gridspec_kw={"height_ratios": ratios, "hspace": 0.08})
    top, bottom = axes[0], axes[1]
    try:
        _draw_faults(top, windows, lanes, end)
        over_limit = False
        if intervals:
            over_limit = _draw_states(bottom, intervals, colors, end, _limits_of(meta) if limits is None else limits)
        else:
            bottom.text(0.5, 0.5, "no state samples recorded", transform=bottom.transAxes,
                        ha="center", va="center", color="#757575")
            bottom.set_yticks([])
        _shade_windows(bottom, windows, end)
        if doing:
            _draw_activity(axes[2], doing, marks, end)
            _shade_windows(axes[2], windows, end)
        for ax in axes[1:]:
            ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
            ax.set_axisbelow(True)
        bottom.set_xlim(0, end)
        axes[-1].set_xlabel("seconds since start")
        top.set_title(_title(meta, title), loc="left", fontsize=11, fontweight="bold")
        used = sorted({i.state for rows in intervals.values() for i in rows}, key=_legend_order(list(spec_colors)))
        handles = [Patch(facecolor=colors[s], label=s) for s in used]
        handles.append(Patch(facecolor=FAULT_COLOR, alpha=0.5, label="fault window"))
        handles += [Patch(facecolor=ACTIVITY_COLORS[what], label=ACTIVITY_LABELS[what])
                    for what in activity_kinds(doing)]
        if over_limit:
            handles.append(Patch(facecolor="white", edgecolor=OVER_LIMIT_COLOR, hatch="xx", label="over time limit"))
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 7), frameon=False, fontsize=8.5)
        fig.subplots_adjust(left=0.12, right=0.98, top=1 - 0.42 / height, bottom=0.8 / height)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=dpi)
    finally:
        plt.close(fig)
    return out
