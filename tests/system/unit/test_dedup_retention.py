"""Central remembers a processed id for as long as the wire may still accept a redelivery of it: the
retention is derived from the timestamp window, so a record is never applied twice for lack of it."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

from evcharge import messages, wire
from evcharge.central.service import LoopConfig
from evcharge.messages import AuthorizationRequest, encode, make

from .helpers import CentralHarness


def test_the_retention_is_the_window_plus_a_margin():
    retention = LoopConfig().processed_retention
    assert wire.DEDUP_MARGIN_S > 0
    assert retention == wire.DEDUP_RETENTION_S == wire.MAX_AGE_S + wire.MAX_FUTURE_S + wire.DEDUP_MARGIN_S
    assert retention > wire.MAX_AGE_S + wire.MAX_FUTURE_S  # the margin is on top, not eaten by the window


def test_the_retention_follows_the_window_set_in_the_environment():
    code = "from evcharge.central.service import LoopConfig; from evcharge import wire;"
    code += " print(LoopConfig().processed_retention - wire.DEDUP_MARGIN_S)"
    env = {"EVCHARGE_MAX_FUTURE_S": "60", "EVCHARGE_MAX_AGE_S": "3600", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == [str(3600.0 + 60.0)], out.stderr


def test_a_redelivery_at_the_far_edge_of_the_window_is_still_a_duplicate(tmp_path, monkeypatch):
    """The worst case the window admits: first seen as early as its timestamp allows (``MAX_FUTURE_S``
    before it), redelivered as late as it allows (``MAX_AGE_S`` after it), a prune just before."""
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(messages, "time", SimpleNamespace(time=lambda: clock.now))
    stamped = 10_000_000.0
    clock.now = stamped
    raw = encode(make(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None), "test"))
    c = CentralHarness(str(tmp_path / "c.db"))

    def deliver(at: float) -> int:
        clock.now = c.now = at
        return len(c.send_raw(raw))

    assert deliver(stamped - wire.MAX_FUTURE_S + 1) == 1  # accepted (no CP: denied, one reply)
    late = stamped + wire.MAX_AGE_S - 1
    assert wire.timestamp_problem(stamped, late) is None  # the wire would accept it again
    with c.store.transaction():
        c.store.prune_processed(late - LoopConfig().processed_retention)
    assert deliver(late) == 0 and c.processor.duplicates == 1
    with c.store.transaction():  # what a retention of MAX_AGE_S alone would have done
        assert c.store.prune_processed(late - wire.MAX_AGE_S) == 1
    assert deliver(late) == 1  # applied a second time

