"""Process faults on real processes: a service of the system, the shared broker, and a 3-node cluster."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from chaos.core.history import History
from chaos.core.spec import log_ready
from chaos.faults import FaultContext, started_early
from chaos.faults.process import ProcessFault
from chaos.infra.kafka_protocol import fetch_metadata
from chaos.infra.service import Service
from tests import kafka_clients as clients

pytestmark = pytest.mark.integration

SLEEPER = "import time; print('up', flush=True); time.sleep(600)"


@pytest.fixture
def sleeper(tmp_path: Path):
    service = Service("sleeper", [sys.executable, "-c", SLEEPER], tmp_path, ready_timeout=10)
    service.ready = log_ready(service.log_path, "up")
    service.start()
    yield service
    service.stop(timeout=2)


def answers(infra, node: int = 1, timeout: float = 0.5) -> bool:
    try:
        fetch_metadata(infra.endpoints.brokers[node - 1].internal, timeout=timeout)
        return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("kind", "during"),
    [
        ("term", lambda s, pid: not s.is_running()),
        ("kill", lambda s, pid: not s.is_running()),
        ("pause", lambda s, pid: s.is_paused() and s.pid == pid),
        ("restart", lambda s, pid: s.is_running() and s.pid != pid),
    ],
)
def test_process_faults_on_a_service_and_their_heal(infra, sleeper, kind, during) -> None:
    ctx = FaultContext(infra, services={"sleeper": sleeper})
    pid = sleeper.pid
    fault = ctx.make_fault(kind, "sleeper", {"timeout": 2} if kind == "term" else {})
    fault.apply()
    assert during(sleeper, pid), f"{fault.name}: running={sleeper.is_running()} paused={sleeper.is_paused()}"
    fault.heal()
    fault.heal()
    assert sleeper.is_running() and not sleeper.is_paused()
    if kind in ("term", "kill", "restart"):
        assert sleeper.pid != pid


def test_broker_pause_then_resume(infra) -> None:
    fault = FaultContext(infra).make_fault("pause", "broker:1", {})
    fault.apply()
    try:
        assert infra.broker(1).is_paused() and not answers(infra)
    finally:
        fault.heal()
    assert answers(infra, timeout=2.0)


@pytest.mark.parametrize(("kind", "target"), [("kill", "broker:1"), ("term", "broker:all")])
def test_broker_stop_then_start_and_ready(infra, kind, target) -> None:
    fault = FaultContext(infra).make_fault(kind, target, {})
    fault.apply()
    try:
        assert not infra.broker(1).is_running() and not answers(infra)
    finally:
        fault.heal()  # returns once the cluster serves again
    assert infra.broker(1).is_running() and answers(infra)
    fault.heal()


def test_before_proxies_starts_the_service_with_its_links_cut(infra, sleeper) -> None:
    ctx = FaultContext(infra, services={"sleeper": sleeper}, roles={"sleeper": "driver"})
    history = History()
    pid = sleeper.pid
    started = time.monotonic()
    with started_early(ctx, "sleeper", lead=0.5, before="proxies", history=history) as fault:
        assert sleeper.is_running() and sleeper.pid != pid, "the service was started again"
        proxies = infra.toxiproxy.proxies()
        assert not proxies["driver-b1"].enabled and proxies["central-b1"].enabled
    assert time.monotonic() - started >= 0.5
    assert all(p.enabled for p in infra.toxiproxy.proxies().values())
    assert [e["type"] for e in history.events[1:]] == ["fault_start", "fault_end"]
    assert history.events[1]["name"] == fault.name == "sleeper started before its proxies"


def test_before_kafka_starts_the_service_with_every_broker_stopped(infra, sleeper) -> None:
    ctx = FaultContext(infra, services={"sleeper": sleeper})
    fault = ctx.make_fault("before-kafka", "sleeper", {})
    fault.apply()
    try:
        assert sleeper.is_running() and not infra.broker(1).is_running()
    finally:
        fault.heal()
    assert answers(infra) and sleeper.is_running()


@pytest.fixture
def replicated_topic(infra3, topic_prefix) -> str:
    topic = f"{topic_prefix}lead"
    clients.create_topic(infra3.endpoints.bootstrap("harness"), topic, replication=3)
    deadline = time.monotonic() + 10
    while True:
        try:
            infra3.leader(topic)
            return topic
        except KeyError:
            assert time.monotonic() < deadline, f"{topic} has no leader after 10 s"
            time.sleep(0.05)


def test_leader_and_minority_targets_on_three_brokers(infra3, replicated_topic) -> None:
    ctx = FaultContext(infra3)
    leader = infra3.leader(replicated_topic)
    fault = ctx.make_fault("pause", f"broker:leader:{replicated_topic}", {})
    assert isinstance(fault, ProcessFault)
    fault.apply()
    try:
        assert [p.name for p in fault.hit] == [f"broker-{leader}"]
        assert [b.is_paused() for b in infra3.brokers] == [n == leader for n in (1, 2, 3)]
    finally:
        fault.heal()
    minority = ctx.make_fault("pause", "broker:minority", {})
    minority.apply()
    try:
        assert [b.is_paused() for b in infra3.brokers] == [False, False, True]
    finally:
        minority.heal()
    assert not any(b.is_paused() for b in infra3.brokers)
    infra3.wait_brokers(timeout=30)
