"""Figures rather than verdicts: time to recovery and request latency percentiles.

Pass/fail hides how close a run came to the limit; reports and benchmarks tabulate these numbers
across scenarios (and the recovery check turns one of them into a verdict).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from chaos.checks.params import InvariantSpec
from chaos.checks.views import fault_windows, operations, state_intervals
from chaos.core.history import History


@dataclass(frozen=True)
class Recovery:
    """How the system came back after the last heal.

    - ``request_recovery``: heal -> first ok of a fresh request (one invoked after the heal);
    - ``state_recovery``: heal -> every resource that was in a transient state at the heal has left
      it (the fault's leftovers are cleared); None if one never left it.
    All three are None when there was no heal.
    """

    heal_t: float | None
    fault: str | None
    first_ok_t: float | None
    request_recovery: float | None
    state_recovery: float | None
    fresh_requests: int
    unhealed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recovery(history: History, params: InvariantSpec) -> Recovery:
    windows = fault_windows(history)
    unhealed = tuple(w.name for w in windows if w.end is None)
    healed = [w for w in windows if w.end is not None]
    if not healed:
        return Recovery(None, None, None, None, None, 0, unhealed)
    last = max(healed, key=lambda w: w.end or 0.0)
    heal_t = last.end or 0.0
    fresh = [op for op in operations(history) if op.invoke_t >= heal_t and params.is_fresh_request(op.f)]
    oks = [op.end_t for op in fresh if op.outcome == "ok" and op.end_t is not None]
    first_ok = min(oks) if oks else None
    return Recovery(
        heal_t=heal_t,
        fault=last.name,
        first_ok_t=first_ok,
        request_recovery=None if first_ok is None else first_ok - heal_t,
        state_recovery=state_recovery(history, params, heal_t),
        fresh_requests=len(fresh),
        unhealed=unhealed,
    )


def time_to_recovery(history: History, params: InvariantSpec) -> float | None:
    """Seconds from the last heal to the first successful fresh request (None: no heal or no success)."""
    return recovery(history, params).request_recovery


def state_recovery(history: History, params: InvariantSpec, heal_t: float) -> float | None:
    stuck_ends: list[float | None] = [
        interval.end
        for intervals in state_intervals(history).values()
        for interval in intervals
        if interval.state in params.transient_limits
        and interval.start <= heal_t
        and (interval.end is None or interval.end > heal_t)
    ]
    if any(end is None for end in stuck_ends):
        return None
    return max((end - heal_t for end in stuck_ends if end is not None), default=0.0)


@dataclass(frozen=True)
class LatencyStats:
    """Latency of completed operations, in seconds."""

    count: int
    mean: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, linearly interpolated between ranks."""
    if not ordered:
        raise ValueError("percentile of no values")
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_percentiles(
    history: History, ops: Iterable[str] | None = None, outcomes: Iterable[str] = ("ok", "fail")
) -> LatencyStats:
    """Latency of the operations named in ``ops`` (all if None) that ended with one of ``outcomes``."""
    names, wanted = (None if ops is None else set(ops)), set(outcomes)
    values = sorted(
        op.latency
        for op in operations(history)
        if op.latency is not None and op.outcome in wanted and (names is None or op.f in names)
    )
    if not values:
        return LatencyStats(0, None, None, None, None, None)
    return LatencyStats(
        count=len(values),
        mean=sum(values) / len(values),
        p50=percentile(values, 0.5),
        p90=percentile(values, 0.9),
        p99=percentile(values, 0.99),
        max=values[-1],
    )
