"""Broker faults mid-session: SIGKILL and restart, SIGSTOP, and the partition leader killed in 3 nodes."""

from __future__ import annotations

import pytest

from scenarios.flows import HOLD, serve_and_check

pytestmark = pytest.mark.chaos


@pytest.mark.parametrize("kind", ["kill", "pause"])
def test_broker_fault_mid_session(ev, kind):
    run = ev(f"broker {kind} mid-session", charge_duration=2.0)
    run.start()
    run.wait_cps()
    charge = run.charge("D1", "CP_001")
    charge.wait({"charging"}, 15)
    with run.fault(kind, "broker:1"):
        started = run.history.clock.now()
        run.wait_for("the fault held", lambda: run.history.clock.now() - started > HOLD, HOLD + 5)
    serve_and_check(run, charge)


@pytest.mark.chaos_long(20)  # and it starts a 3-node cluster first
def test_leader_killed_in_three_nodes(ev, infra3):
    run = ev("leader SIGKILL (3 nodes)", cluster=infra3, charge_duration=2.0)
    run.start()
    run.wait_cps()
    charge = run.charge("D1", "CP_001")
    charge.wait({"charging"}, 15)
    topic = f"{run.scenario.system.values['topic_prefix']}driver-requests"
    with run.fault("kill", f"broker:leader:{topic}"):
        started = run.history.clock.now()
        run.wait_for("the fault held", lambda: run.history.clock.now() - started > HOLD, HOLD + 5)
        during = run.charge("D2")  # served by the two brokers left
        during.wait({"charging", "completed"}, 30)
    during.wait({"completed"}, 30)  # D2 is free again for the fresh request after the heal
    serve_and_check(run, charge)
