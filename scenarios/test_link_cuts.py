"""Link cuts at each step of a charge, for the driver's, Central's and the charging points' links.

Every cut heals after a few seconds; the charge must then end (served, or released with a clear
reason), no CP may stay reserved past its limit, and a fresh request must be served.
"""

from __future__ import annotations

import pytest

from scenarios.flows import STEPS, cut_at_step, serve_and_check

pytestmark = pytest.mark.chaos


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("role", ["driver", "central", "cp"])
def test_link_cut(ev, role, step):
    run = ev(f"{role} link cut {step}")
    run.start()
    run.ready(warm=True)
    charge = cut_at_step(run, role, step)
    serve_and_check(run, charge)
