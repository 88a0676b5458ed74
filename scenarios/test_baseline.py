"""No fault at all: the network charges, and every invariant holds. If this fails, nothing else means much."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.chaos


def test_a_charge_without_faults(ev):
    run = ev("baseline: no fault")
    run.start()
    run.wait_cps()
    charge = run.charge("D1", "CP_001")
    charge.wait({"completed"}, 30)
    run.fresh_charge("D2")
    run.finish()
