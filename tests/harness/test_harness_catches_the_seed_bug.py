"""Proof that the harness works: the driver-before-Kafka scenario fails on the seed's driver and
passes on the fixed one.

Central's own guard (the reservation TTL) is switched off here (a TTL of 10 minutes), so what is
judged is the driver alone: with the seed's driver, CP_001 stays ``reserved`` and the verdict must
name CP_001 and the rule; with the fixed driver, the same story ends in a charge.
"""

from __future__ import annotations

import pytest

from chaos.core.scenario import ScenarioFailed
from scenarios.ev_spec import EV_RULES
from scenarios.flows import serve_and_check, start_before_kafka

pytestmark = pytest.mark.integration

NO_TTL = 600.0
RULES = EV_RULES.with_overrides(transient_limits={"reserved": 8.0}, request_deadline=20.0)


def run_driver_before_kafka(ev, variant: str) -> None:
    run = ev(f"driver before kafka ({variant} driver, no TTL)", variant=variant, ttl=NO_TTL, rules=RULES,
             driver_deadline=NO_TTL)
    run.start("central", "cp-CP_001", "monitor-CP_001", "cp-CP_002", "monitor-CP_002")
    run.wait_cps()
    charge = start_before_kafka(run, "driver", lead=5.0)
    serve_and_check(run, charge)


def test_the_seed_driver_leaves_its_cp_reserved_and_the_harness_says_so(ev):
    with pytest.raises(ScenarioFailed) as failure:
        run_driver_before_kafka(ev, "seed")
    message = str(failure.value)
    assert "CP_001 reserved for" in message and "(limit 8 s)" in message, message
    assert "transient-state-limit" in message, message


def test_the_fixed_driver_passes_the_same_scenario(ev):
    run_driver_before_kafka(ev, "fixed")
