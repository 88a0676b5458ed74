"""Processes killed with real signals: Central, a driver, a charging point's engine, a monitor."""

from __future__ import annotations

import pytest

from scenarios.ev_spec import EV_RULES, TTL
from scenarios.flows import serve_and_check, supplying

pytestmark = pytest.mark.chaos


def test_central_sigkill_mid_session_and_restart(ev):
    run = ev("central SIGKILL mid-session")
    run.start()
    run.wait_cps()
    charge = run.charge("D1", "CP_001")
    charge.wait({"charging"}, 15)
    with run.fault("kill", "central"):
        run.wait_for("central gone", lambda: not run.service("central").is_running(), 5)
    charge.wait({"completed"}, 30)
    serve_and_check(run, charge)  # the ticket check: the session Central closed has exactly one ticket


def test_driver_killed_after_its_request(ev):
    # Nobody can know how a killed driver's request ended (its state was in memory), and its ticket
    # goes to no one: its request is not judged as a request (another name), the CP is (released by
    # the TTL or by the session's end), and so are Central's own tickets.
    rules = EV_RULES.with_overrides(ticket_event="db_ticket")
    run = ev("driver killed after its request", rules=rules)
    run.start()
    run.wait_cps()
    charge = run.charge("D1", "CP_001", f="charge-of-killed-driver")
    run.wait_for("CP_001 taken", lambda: run.states().get("CP_001") in ("reserved", "charging"), 10)
    with run.fault("kill", "driver-D1"):
        # reserved: the TTL frees it; charging: the session completes without its driver
        run.wait_cp("CP_001", "available", TTL + 15)
    serve_and_check(run, charge)


def test_engine_killed_while_charging_reports_fault_and_energy(ev):
    run = ev("cp engine SIGKILL while charging", charge_duration=6.0)
    charge = supplying(run)
    with run.fault("kill", "cp-CP_001"):
        run.wait_cp("CP_001", "fault", 15)
        charge.wait({"completed", "failed"}, 20)
    ticket = charge.snapshot.get("ticket") or {}
    assert ticket.get("kwh", 0) > 0, f"the energy supplied before the kill is billed: {charge.snapshot}"
    run.wait_cp("CP_001", "available", 20)
    serve_and_check(run, charge)


def test_monitor_killed_marks_the_cp_disconnected(ev):
    run = ev("monitor SIGKILL")
    run.start()
    run.wait_cps()
    with run.fault("kill", "monitor-CP_001"):
        run.wait_cp("CP_001", "disconnected", 15)
    run.wait_cp("CP_001", "available", 15)
    charge = run.charge("D1", "CP_001")
    serve_and_check(run, charge)


def test_engine_killed_with_its_charge_unreported(ev):
    """What the CPs send is stalled while a charge runs to its end (they still heard the start), and
    the engine is killed at the step after it stored the completion (``engine.supply-finished``):
    its telemetry and completion die in its send queue, and no topic says the car got the rest of its
    energy. The restarted engine must send the completion its state file kept, so the ticket bills
    the energy its meter recorded (the conservation rule reads that meter), not what reached Kafka
    (with Central's stop grace run out meanwhile, by amending the ticket)."""
    # 5 s: the stall and the failpoint are in place long before the supply ends, even on a loaded
    # machine (with 1.5 s the charge could end before the point was armed, and the kill never came)
    run = ev("cp engine SIGKILL with its charge unreported", charge_duration=5.0)
    charge = supplying(run)  # not only booked: a stall before the engine read its start would stall that
    with (run.fault("timeout", "cp", {"timeout": 0, "stream": "upstream"}),
          run.fault("kill-at", "cp-CP_001", {"point": "engine.supply-finished"})):
        run.wait_for("cp-CP_001 killed", lambda: not run.service("cp-CP_001").is_running(), 5)
    charge.wait({"completed", "failed"}, 30)
    run.wait_cp("CP_001", "available", 20)
    serve_and_check(run, charge)  # conservation: the ticket bills what the meter kept, not what Kafka heard
