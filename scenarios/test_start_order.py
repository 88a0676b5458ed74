"""Start order: each component started before Kafka is there for it, and Kafka itself late.

The original bug: the Driver starts before Kafka, its producer stays ``None`` and the CP it reserved
stays ``reserved`` for ever. Here every component in turn starts while its links are down, and then
the whole network starts with every broker stopped, Kafka arriving 5 s and 40 s later (40 s is past
kafka-python's 30 s bootstrap timeout, the limit the seed's driver never recovered from).
"""

from __future__ import annotations

import pytest

from scenarios.ev_spec import EV_RULES
from scenarios.flows import serve_and_check, start_before_kafka

pytestmark = pytest.mark.chaos


@pytest.mark.parametrize("role", ["central", "cp", "monitor", "driver"])
def test_component_starts_before_kafka(ev, role):
    run = ev(f"{role} starts 5 s before kafka")
    charge = start_before_kafka(run, role, lead=5.0)
    run.wait_cps(timeout=30)
    serve_and_check(run, charge)


@pytest.mark.parametrize("lead", [5.0, pytest.param(40.0, marks=pytest.mark.chaos_long(50))], ids=["5s", "40s"])
def test_kafka_arrives_late(ev, lead):
    # the request is made while Kafka is away: its deadline must outlast the wait
    run = ev(f"kafka {lead:g} s late", driver_deadline=lead + 20,
             rules=EV_RULES.with_overrides(request_deadline=lead + 25))
    charge = start_before_kafka(run, None, lead=lead)
    run.wait_cps(timeout=30)
    serve_and_check(run, charge)
