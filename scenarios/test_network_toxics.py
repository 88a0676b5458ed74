"""Degraded links rather than cut ones: every Toxiproxy toxic kind, on each role's links, during a charge."""

from __future__ import annotations

import pytest

from scenarios.flows import HOLD, held_since, serve_and_check

pytestmark = pytest.mark.chaos

TOXICS = {
    "latency": {"latency": 300, "jitter": 100},
    "slicer": {"average_size": 64, "size_variation": 32, "delay": 200},
    "bandwidth": {"rate": 16},
    "reset_peer": {"timeout": 500},
    "limit_data": {"bytes": 4096},
}


@pytest.mark.parametrize("role", ["driver", "central", "cp", "monitor"])
@pytest.mark.parametrize("toxic", TOXICS)
def test_toxic_during_a_charge(ev, toxic, role):
    run = ev(f"{role} {toxic}")
    run.start()
    run.wait_cps()
    with run.fault(toxic, role, {**TOXICS[toxic], "stream": "both"}):
        charge = run.charge("D1", "CP_001")
        run.wait_for("the toxic held", lambda: held_since(run, charge, HOLD), HOLD + 5)
    serve_and_check(run, charge)
