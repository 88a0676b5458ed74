"""A second system under test, with nothing toy-specific in ``chaos/``: leases kept through Kafka.

The holder's link is cut while it holds a lease, so its release is lost; later the keeper's link is
slowed. The keeper with a lease timeout frees the resource and passes; the broken keeper (no lease)
leaves it reserved, and the checks say which resource, which rule, and which fault window.
"""

from __future__ import annotations

import threading
import time

import pytest
from toy_system import DEADLINE, RECOVERY, toy_spec

from chaos.core.history import History
from chaos.core.sampler import StateProbe
from chaos.core.scenario import Scenario, ScenarioFailed
from chaos.nemesis import ScheduleBuilder
from tests import kafka_clients as clients

pytestmark = pytest.mark.integration
SEED = 4


def client(history: History, infra, topic: str, probe: StateProbe, stop: threading.Event) -> None:
    """Requests through the harness role: reserve C<n>, ok once the keeper shows it reserved, then release."""
    producer = clients.producer(infra.endpoints.bootstrap("harness"), request_timeout_ms=1000, delivery_timeout_ms=3000)
    try:
        for number in range(1, 1000):
            if stop.wait(0.3):
                return
            resource = f"C{number}"
            with history.operation("client", "reserve", resource=resource) as op:
                producer.send(topic, f'{{"op": "reserve", "resource": "{resource}"}}'.encode())
                deadline = time.monotonic() + DEADLINE - 0.5
                while (probe() or {}).get(resource) != "reserved":
                    if time.monotonic() > deadline:
                        op.fail("the keeper did not show the reservation in time")
                        break
                    time.sleep(0.05)
                else:
                    op.ok()
            producer.send(topic, f'{{"op": "release", "resource": "{resource}"}}'.encode())
    finally:
        producer.close(timeout=2)


def wait_for_a_new_lease(probe: StateProbe, timeout: float = 10.0) -> None:
    """Return just after the holder takes a new lease, so the cut that follows hits it mid-hold."""

    def held() -> set[str]:
        return {r for r, state in (probe() or {}).items() if r.startswith("R") and state == "reserved"}

    before = held()
    deadline = time.monotonic() + timeout
    while not held() - before:
        assert time.monotonic() < deadline, f"the holder took no new lease within {timeout} s"
        time.sleep(0.02)


def run_toy(chaos_scenario, infra, lease: float) -> Scenario:
    """The toy run through the same ``chaos_scenario`` fixture the EV suites use: only the spec differs."""
    scenario = chaos_scenario(f"toy lease={lease}", spec=toy_spec(lease), seed=SEED)
    topic = f"{scenario.system.values['topic_prefix']}leases"
    clients.create_topic(infra.endpoints.bootstrap("harness"), topic)
    schedule = (
        ScheduleBuilder(seed=SEED, name=scenario.spec.name)
        .wait(0.3).fault("link-down", "cp", 2.5)
        .wait(0.5).fault("latency", "central", 1.0, {"latency": 200, "jitter": 50})
        .quiet(3.0).build()
    )
    scenario.start()
    probe = scenario.system.probe()
    stop = threading.Event()
    errors: list[BaseException] = []

    def requests_until_stopped() -> None:
        try:
            client(scenario.history, infra, topic, probe, stop)
        except BaseException as exc:
            errors.append(exc)

    requests = threading.Thread(target=requests_until_stopped, daemon=True)
    requests.start()
    try:
        wait_for_a_new_lease(probe)
        scenario.run_schedule(schedule)
    finally:
        stop.set()
        requests.join(timeout=10)
    if errors:
        raise errors[0]
    scenario.judge()
    return scenario


def test_the_toy_with_a_lease_recovers(chaos_scenario, infra) -> None:
    scenario = run_toy(chaos_scenario, infra, lease=1.0)
    verdicts = scenario.verdicts
    scenario.assert_invariants()
    assert any(e["type"] == "state" and "R1" in e["states"] for e in scenario.history.events), "probe saw the holder"
    [recovery] = [v for v in verdicts if v.invariant == "recovery"]
    assert recovery.value is not None and recovery.value < RECOVERY


def test_the_broken_toy_fails_naming_the_resource_and_the_rule(chaos_scenario, infra) -> None:
    scenario = run_toy(chaos_scenario, infra, lease=0.0)
    with pytest.raises(ScenarioFailed, match=r"transient-state-limit|reserved for"):
        scenario.assert_invariants()
    verdicts = scenario.verdicts
    failed = [v for v in verdicts if not v.ok]
    assert failed, "\n".join(str(v) for v in verdicts)
    stuck = [v for v in failed if v.invariant == "transient-state-limit"]
    assert stuck and stuck[0].resource is not None and stuck[0].resource.startswith("R"), failed
    message = stuck[0].message
    assert f"{stuck[0].resource} reserved for" in message and "(limit 3 s)" in message, message
    assert "'cp link down'" in message and f"replay with --chaos-seed {SEED}" in message, message
    assert {v.invariant for v in failed} == {"transient-state-limit"}, "only the lease rule is broken"
