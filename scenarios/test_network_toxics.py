"""Degraded links rather than cut ones: every Toxiproxy toxic kind, on each role's links, during a charge.

The kinds and their parameters come from the fault registry (each toxic's ``SUITE_PARAMS``, in its
own file), so a new toxic joins this suite without an edit here.
"""

from __future__ import annotations

import pytest

from chaos.faults.network import degraded_link_kinds
from scenarios.flows import HOLD, held_since, serve_and_check

pytestmark = pytest.mark.chaos

TOXICS = degraded_link_kinds()


@pytest.mark.parametrize("role", ["driver", "central", "cp", "monitor"])
@pytest.mark.parametrize("toxic", sorted(TOXICS))
def test_toxic_during_a_charge(ev, toxic, role):
    run = ev(f"{role} {toxic}")
    run.start()
    run.wait_cps()
    with run.fault(toxic, role, {**TOXICS[toxic], "stream": "both"}):
        charge = run.charge("D1", "CP_001")
        run.wait_for("the toxic held", lambda: held_since(run, charge, HOLD), HOLD + 5)
    serve_and_check(run, charge)
