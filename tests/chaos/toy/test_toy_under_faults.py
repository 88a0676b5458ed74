"""A second system under test, with nothing toy-specific in ``chaos/``: leases kept through Kafka.

The holder's link is cut while it holds a lease, so its release is lost; later the keeper's link is
slowed. The keeper with a lease timeout frees the resource and passes; the broken keeper (no lease)
leaves it reserved, and the checks say which resource, which rule, and which fault window.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from toy_system import DEADLINE, RECOVERY, SystemRun, toy_spec

from chaos import clients
from chaos.checks import Verdict, run_checks
from chaos.history import History, StateProbe, StateSampler
from chaos.nemesis import ScheduleBuilder, ScheduleRunner

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


def run_toy(infra, tmp_path: Path, prefix: str, lease: float) -> tuple[History, list[Verdict]]:
    topic = f"{prefix}leases"
    clients.create_topic(infra.endpoints.bootstrap("harness"), topic)
    system = SystemRun(toy_spec(lease), infra, tmp_path, topic_prefix=prefix)
    schedule = (
        ScheduleBuilder(seed=SEED, name=system.spec.name)
        .wait(0.3).fault("link-down", "cp", 2.5)
        .wait(0.5).fault("latency", "central", 1.0, {"latency": 200, "jitter": 50})
        .quiet(3.0).build()
    )
    history = History(tmp_path / "history.jsonl", seed=SEED, name=system.spec.name,
                      invariants=system.spec.invariants.to_dict())
    stop = threading.Event()
    with system.running():
        probe = system.probe()
        with StateSampler(history, probe, interval=0.1):
            errors: list[BaseException] = []

            def requests_until_stopped() -> None:
                try:
                    client(history, infra, topic, probe, stop)
                except BaseException as exc:
                    errors.append(exc)

            requests = threading.Thread(target=requests_until_stopped, daemon=True)
            requests.start()
            try:
                wait_for_a_new_lease(probe)
                ScheduleRunner(schedule, system.fault_context.make_fault, history).run()
            finally:
                stop.set()
                requests.join(timeout=10)
    history.close()
    if errors:
        raise errors[0]
    return history, run_checks(history, system.spec.invariants)


def test_the_toy_with_a_lease_recovers(infra, tmp_path, topic_prefix) -> None:
    history, verdicts = run_toy(infra, tmp_path, topic_prefix, lease=1.0)
    assert all(v.ok for v in verdicts), "\n".join(str(v) for v in verdicts)
    assert any(e["type"] == "state" and "R1" in e["states"] for e in history.events), "the probe saw the holder"
    [recovery] = [v for v in verdicts if v.invariant == "recovery"]
    assert recovery.value is not None and recovery.value < RECOVERY


def test_the_broken_toy_fails_naming_the_resource_and_the_rule(infra, tmp_path, topic_prefix) -> None:
    _, verdicts = run_toy(infra, tmp_path, topic_prefix, lease=0.0)
    failed = [v for v in verdicts if not v.ok]
    assert failed, "\n".join(str(v) for v in verdicts)
    stuck = [v for v in failed if v.invariant == "transient-state-limit"]
    assert stuck and stuck[0].resource is not None and stuck[0].resource.startswith("R"), failed
    message = stuck[0].message
    assert f"{stuck[0].resource} reserved for" in message and "(limit 3 s)" in message, message
    assert "'cp link down'" in message and f"replay with --chaos-seed {SEED}" in message, message
    assert {v.invariant for v in failed} == {"transient-state-limit"}, "only the lease rule is broken"
