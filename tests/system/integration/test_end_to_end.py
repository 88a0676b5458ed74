"""The EV network's own processes against real Kafka (the harness's ``local`` backend)."""

import time

import pytest

from chaos.faults import cut, link_down

from .network import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def test_a_full_session_end_to_end(network):
    network.central()
    network.charging_point("CP_001", duration=2.0)
    driver = network.driver("D1")
    network.wait_cp("CP_001", "available")

    request_id = driver.charge("CP_001")
    done = driver.wait_state(request_id, {"completed", "denied", "failed"}, timeout=60)

    assert done["state"] == "completed", done
    ticket = done["ticket"]
    assert ticket["cp_id"] == "CP_001" and ticket["kwh"] > 0 and ticket["price_eur"] >= 0
    assert done["telemetry"] is not None  # telemetry was relayed while charging
    assert network.tickets(ticket["session_id"]) == [(ticket["session_id"], ticket["kwh"], ticket["price_eur"])]
    network.wait_cp("CP_001", "available")


def test_a_driver_started_40s_before_kafka_still_charges(network, infra):
    network.central()
    network.charging_point("CP_001", duration=2.0)
    network.wait_cp("CP_001", "available")
    down = cut(infra, "driver")
    try:
        driver = network.driver("D1")
        request_id = driver.charge("CP_001")
        cut_until = time.monotonic() + 40  # beyond kafka-python's 30 s bootstrap timeout
        while time.monotonic() < cut_until:
            pending = driver.request(request_id)
            assert pending["state"] == "pending", pending
            time.sleep(1)
    finally:
        down.heal()
    done = driver.wait_state(request_id, {"completed", "denied", "failed"}, timeout=60)
    assert done["state"] == "completed", done


def test_central_killed_mid_session_restarts_and_the_session_ends_with_one_ticket(network):
    central = network.central()
    network.charging_point("CP_001", duration=6.0)
    driver = network.driver("D1")
    network.wait_cp("CP_001", "available")

    request_id = driver.charge("CP_001")
    charging = driver.wait_state(request_id, {"charging"}, timeout=30)
    wait_until(lambda: (driver.request(request_id)["telemetry"] or {}).get("kwh", 0) > 0, 10, "first telemetry")
    central.kill()  # SIGKILL: no shutdown, no flush
    time.sleep(1)  # the fault's duration, not a wait for an outcome
    central.start()

    done = driver.wait_state(request_id, {"completed", "failed", "denied"}, timeout=60)
    assert done["state"] == "completed", done
    assert done["session_id"] == charging["session_id"]
    assert len(network.tickets(done["session_id"])) == 1
    assert len(network.tickets()) == 1
    network.wait_cp("CP_001", "available")


def test_seed_driver_before_kafka_leaves_its_cp_reserved_while_the_fixed_driver_charges(network, infra):
    network.ttl = 12.0
    network.central()
    network.charging_point("CP_001", duration=2.0)
    network.charging_point("CP_002", duration=2.0)
    network.wait_cp("CP_001", "available")
    network.wait_cp("CP_002", "available")
    with link_down(infra, "driver"):
        seed = network.driver("SEED", variant="seed")
        fixed = network.driver("FIXED")
        # the seed makes exactly one producer attempt at start: wait until it has failed
        wait_until(lambda: "will never be retried" in seed.service.log_path.read_text(), 30, "seed producer failure")
        seed_request = seed.charge("CP_001")
        fixed_request = fixed.charge("CP_002")

    fixed_done = fixed.wait_state(fixed_request, {"completed", "denied", "failed"}, timeout=60)
    assert fixed_done["state"] == "completed", fixed_done

    seed.wait_state(seed_request, {"authorized"}, timeout=30)
    reserved_since = time.monotonic()
    network.wait_cp("CP_001", "reserved", timeout=5)
    # the bug: nothing ever starts the charge; only Central's TTL sweeper frees the CP
    released = seed.wait_state(seed_request, {"failed", "completed", "charging"}, timeout=network.ttl + 15)
    assert released["state"] == "failed" and released["reason"] == "reservation_expired", released
    assert time.monotonic() - reserved_since >= network.ttl - 6  # reserved for (about) the whole TTL
    assert network.query("SELECT COUNT(*) FROM sessions WHERE cp_id='CP_001'") == [(0,)]
    network.wait_cp("CP_001", "available")


def test_services_file_mode_charges_at_each_cp_in_turn(network):
    network.central()
    network.charging_point("CP_001", duration=1.0)
    network.charging_point("CP_002", duration=1.0)
    network.wait_cp("CP_001", "available")
    network.wait_cp("CP_002", "available")
    driver = network.services_driver("D7", ["CP_001", "CP_002"], pause=0.5)
    wait_until(lambda: not driver.is_running(), 60, "the services driver to finish")
    rows = network.query("SELECT cp_id, driver_id FROM tickets ORDER BY created_at")
    assert rows == [("CP_001", "D7"), ("CP_002", "D7")]


def test_engine_ko_means_fault_and_a_silent_monitor_means_disconnected(network):
    from evcharge.cp.health import ask

    network.central()
    monitor = network.charging_point("CP_001")
    network.wait_cp("CP_001", "available")
    assert ask("127.0.0.1", network.engine_port["CP_001"], "KO") == "KO"
    network.wait_cp("CP_001", "fault", timeout=10)
    assert ask("127.0.0.1", network.engine_port["CP_001"], "OK") == "OK"
    network.wait_cp("CP_001", "available", timeout=10)
    monitor.kill()
    network.wait_cp("CP_001", "disconnected", timeout=15)  # heartbeat timeout is 4 s here
    monitor.start()
    network.wait_cp("CP_001", "available", timeout=15)
