"""The faults that provoke data bugs, on real processes and a real broker: ``kill-at`` (a SIGKILL at a
named step of the process's own code) and ``rewind`` (a consumer group made to read again)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from chaos.core.spec import log_ready
from chaos.faults import FaultContext, FaultError
from chaos.faults.base import applied
from chaos.infra.service import Service
from chaos.infra.topology import HARNESS_ROLE
from tests import kafka_clients as clients

pytestmark = pytest.mark.integration

STEPPER = """
import os, signal, sys, time
points = sys.argv[1]
print("up", flush=True)
step = 0
while True:
    step += 1
    armed = open(points).read().split() if os.path.exists(points) else []
    if "step.commit" in armed:
        print(f"at step.commit {step}", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(0.02)
"""
"""A process with one failpoint, read from the file the harness names, as a system would."""

READER = """
import sys
from kafka import KafkaConsumer
bootstrap, topic, group, out = sys.argv[1:5]
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, group_instance_id=group,
                         enable_auto_commit=False, auto_offset_reset="earliest", session_timeout_ms=30000)
print("up", flush=True)
while True:
    for tp, batch in consumer.poll(timeout_ms=200).items():
        with open(out, "a") as seen:
            for record in batch:
                seen.write(f"{record.offset}\\n")
        consumer.commit()
"""
"""A consumer in a static group (it would hold the group for 30 s after a kill) that notes each offset."""


def service(tmp_path: Path, name: str, script: str, *args: str) -> Service:
    process = Service(name, [sys.executable, "-c", script, *args], tmp_path, ready_timeout=20)
    process.ready = log_ready(process.log_path, "up")
    return process


def wait(what: str, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)


def test_kill_at_kills_the_process_stopped_at_its_point_and_heal_starts_it_unarmed(infra, tmp_path) -> None:
    points = tmp_path / "stepper.failpoints"
    stepper = service(tmp_path, "stepper", STEPPER, str(points))
    stepper.start()
    try:
        pid = stepper.pid
        ctx = FaultContext(infra, services={"stepper": stepper}, failpoints={"stepper": points})
        fault = ctx.make_fault("kill-at", "stepper", {"point": "step.commit", "within": 10})
        fault.apply()
        assert not stepper.is_running(), "killed once stopped at its point"
        assert "at step.commit" in stepper.log_path.read_text(), "it reached the point before dying"
        fault.heal()
        assert stepper.is_running() and stepper.pid != pid
        assert points.read_text() == "", "disarmed: the fresh process must not stop there again"
    finally:
        stepper.stop(timeout=2)


def test_kill_at_a_point_never_reached_fails_and_leaves_the_process_running(infra, tmp_path) -> None:
    points = tmp_path / "stepper.failpoints"
    stepper = service(tmp_path, "stepper", STEPPER, str(points))
    stepper.start()
    try:
        ctx = FaultContext(infra, services={"stepper": stepper}, failpoints={"stepper": points})
        fault = ctx.make_fault("kill-at", "stepper", {"point": "step.never", "within": 0.5})
        with pytest.raises(FaultError, match=r"did not reach failpoint step\.never within 0\.5 s"):
            fault.apply()
        assert stepper.is_running() and not stepper.is_paused() and points.read_text() == ""
    finally:
        stepper.stop(timeout=2)


def test_rewind_makes_a_static_consumer_read_again_what_it_committed(infra, tmp_path, topic_prefix) -> None:
    bootstrap = infra.endpoints.bootstrap(HARNESS_ROLE)
    topic, group = f"{topic_prefix}rewound", f"{topic_prefix}reader"
    clients.create_topic(bootstrap, topic, partitions=1)
    producer = clients.producer(bootstrap)
    for n in range(10):
        producer.send(topic, f"r{n}".encode())
    producer.flush(10)
    producer.close()
    seen = tmp_path / "seen"
    reader = service(tmp_path, "reader", READER, bootstrap, topic, group, str(seen))
    reader.start()
    try:
        read = lambda: seen.read_text().split() if seen.exists() else []  # noqa: E731
        wait("the reader consumed all 10", lambda: len(read()) >= 10)
        ctx = FaultContext(infra, services={"reader": reader}, topic_prefix=topic_prefix)
        fault = ctx.make_fault("rewind", "reader", {"records": 4})
        with applied(fault):
            assert not reader.is_running()
        assert fault.evidence()["rewound"] == [{"topic": topic, "partition": 0, "from": 10, "to": 6}]
        wait("the last 4 read a second time", lambda: read().count("9") == 2, 30)
        assert read()[10:] == ["6", "7", "8", "9"]
    finally:
        reader.stop(timeout=2)


def test_rewind_of_a_group_that_never_committed_restarts_the_service_and_says_so(
    infra, tmp_path, topic_prefix, monkeypatch
) -> None:
    """Under load a schedule's rewind can come before the consumer's first commit: it waits for one,
    and without one it still kills and restarts the service, with evidence, instead of failing."""
    monkeypatch.setattr("chaos.faults.kinds.rewind.COMMIT_WAIT", 1.0)
    bootstrap = infra.endpoints.bootstrap(HARNESS_ROLE)
    topic, group = f"{topic_prefix}empty", f"{topic_prefix}reader"
    clients.create_topic(bootstrap, topic, partitions=1)
    reader = service(tmp_path, "reader", READER, bootstrap, topic, group, str(tmp_path / "seen"))
    reader.start()
    try:
        pid = reader.pid
        ctx = FaultContext(infra, services={"reader": reader}, topic_prefix=topic_prefix)
        fault = ctx.make_fault("rewind", "reader", {"records": 4})
        with applied(fault):
            assert not reader.is_running()
        assert fault.evidence() == {
            "not_rewound": f"group {group!r} committed no offsets within 1 s: restarted, nothing read again"
        }
        assert reader.is_running() and reader.pid != pid
    finally:
        reader.stop(timeout=2)
