"""Helpers for the harness's pure-logic unit tests: histories crafted with exact timestamps."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from chaos.core.clock import Clock
from chaos.core.history import History

START = "2024-05-01T12:00:00.000+00:00"
Crafted = Iterable[tuple[float, str, dict[str, Any]]]


def craft_history(events: Crafted, seed: int | None = 7, **meta: Any) -> History:
    """A history whose events happen at the given offsets from 12:00:00.000."""
    clock = Clock.from_iso(START)
    rows: list[dict[str, Any]] = [
        {"t": 0.0, "at": START, "type": "meta", "start": START, "seed": seed, **meta}
    ]
    for t, kind, fields in sorted(events, key=lambda e: e[0]):
        rows.append({"t": t, "at": clock.iso(t), "type": kind, **fields})
    return History.from_events(rows)


@pytest.fixture
def craft() -> Callable[..., History]:
    return craft_history
