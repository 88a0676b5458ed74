"""A system with fixed topic names, for real: each run gets the topics fresh, and a service counts as
ready once its consumer group has its partitions, not before (real broker, real processes)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from chaos.core.spec import ServiceSpec, SystemSpec
from chaos.core.system import SystemRun
from chaos.infra.kafka_admin import describe_group
from tests import kafka_clients as clients

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

CONSUMER = """
import sys, time
sys.path.insert(0, sys.argv[3])
from tests import kafka_clients as clients
time.sleep(float(sys.argv[4]))  # joins late: readiness must wait for the group, not the process
consumer = clients.consumer(sys.argv[1], sys.argv[2], group="fixed-readers")
while True:
    consumer.poll(timeout_ms=200)
"""


def spec(topic: str, join_after: float) -> SystemSpec:
    reader = ServiceSpec("reader", [sys.executable, "-c", CONSUMER, "{bootstrap}", topic, str(ROOT), str(join_after)],
                         role="harness", ready="group fixed-readers", ready_timeout=30)
    return SystemSpec("fixed names", [reader], fixed_topics={topic: 2})


def test_each_run_gets_fixed_topics_fresh_and_no_prefix(infra, tmp_path: Path):
    topic = f"fixed-orders-{time.monotonic_ns()}"  # fixed for the system, unique to this test
    first = SystemRun(spec(topic, 0), infra, tmp_path / "1", topic_prefix="t-run-1.")
    assert first.topic_prefix == "" and first.values["topic_prefix"] == ""
    access = infra.endpoints.harness_access()
    producer = clients.producer(access.bootstrap)
    producer.send(topic, b"left by the first run").get(timeout=10)
    producer.close()
    SystemRun(spec(topic, 0), infra, tmp_path / "2", topic_prefix="t-run-2.")
    consumer = clients.consumer(access.bootstrap, topic)
    try:
        leftovers = [r for _ in range(10) for rs in consumer.poll(timeout_ms=200).values() for r in rs]
        assert leftovers == [], "the second run read a record of the first"
        assert len(consumer.partitions_for_topic(topic) or ()) == 2
    finally:
        consumer.close()


def test_group_readiness_waits_for_the_assignment_of_this_start_not_a_killed_ones(infra, tmp_path: Path):
    topic = f"fixed-ready-{time.monotonic_ns()}"
    run = SystemRun(spec(topic, 2.0), infra, tmp_path, topic_prefix="")
    reader = run.services["reader"]
    access = infra.endpoints.harness_access()
    try:
        for start in ("first", "after a SIGKILL"):  # a killed member stays, assigned, until its session ends
            began = time.monotonic()
            reader.start()
            waited = time.monotonic() - began
            state = describe_group(access.bootstrap, "fixed-readers", access.plain)
            assert state.listening and waited >= 2.0, f"{start} start: ready after {waited:.1f} s, group {state}"
            reader.kill()
    finally:
        reader.kill()
