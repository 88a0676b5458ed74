"""The harness's client-free admin calls against a real broker: is a group listening, fresh topics.

These are what let the harness start, isolate and probe a system that brings its own Kafka client,
so they are checked against real consumers (kafka-python's, as any client's would be).
"""

from __future__ import annotations

import time

import pytest

from chaos.infra import kafka_admin
from tests import kafka_clients as clients

pytestmark = pytest.mark.integration


def wait_for(what: str, condition, within: float = 30.0):
    deadline = time.monotonic() + within
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {within:g} s"
        time.sleep(0.1)
    return value


def described(access, group: str) -> kafka_admin.GroupState | None:
    try:
        return kafka_admin.describe_group(access.bootstrap, group, access.plain)
    except OSError:  # no coordinator yet: what a readiness poll treats as "not ready"
        return None


def test_a_group_is_listening_once_a_member_has_its_partitions_and_not_before(infra, topic_prefix):
    access, topic, group = infra.endpoints.harness_access(), f"{topic_prefix}orders", f"{topic_prefix}workers"
    kafka_admin.recreate_topics(access.bootstrap, {topic: 2}, access.plain)
    unknown = wait_for("a coordinator (a fresh cluster makes its offsets topic on the first ask)",
                       lambda: described(access, group))
    assert not unknown.listening and unknown.members == ()
    consumer = clients.consumer(access.bootstrap, topic, group=group)
    try:
        def joined() -> kafka_admin.GroupState | None:
            consumer.poll(timeout_ms=100)
            state = kafka_admin.describe_group(access.bootstrap, group, access.plain)
            return state if state.listening else None

        state = wait_for(f"group {group} listening", joined)
        [member] = state.members
        assert state.state == "Stable" and member.assignment == {topic: (0, 1)}
    finally:
        consumer.close()
    left = kafka_admin.describe_group(access.bootstrap, group, access.plain)
    assert not left.listening, f"a group whose only member left still counts as listening: {left}"


def test_recreated_topics_are_empty_and_a_fixed_group_starts_them_afresh(infra, topic_prefix):
    access, topic, group = infra.endpoints.harness_access(), f"{topic_prefix}seats", f"{topic_prefix}fixed"
    kafka_admin.recreate_topics(access.bootstrap, {topic: 1}, access.plain)
    producer = clients.producer(access.bootstrap)
    for n in range(3):
        producer.send(topic, f"old-{n}".encode()).get(timeout=10)
    consumer = clients.consumer(access.bootstrap, topic, group=group)
    read = wait_for("the old records", lambda: [r.value for rs in consumer.poll(timeout_ms=200).values() for r in rs])
    consumer.commit()
    consumer.close()
    assert read[0] == b"old-0"

    kafka_admin.recreate_topics(access.bootstrap, {topic: 3}, access.plain)
    for n in range(4):  # more than the group committed before: a kept offset (3) would skip new-0..2
        producer.send(topic, f"new-{n}".encode(), partition=0).get(timeout=10)
    producer.close()
    consumer = clients.consumer(access.bootstrap, topic, group=group)  # same group name, as a fixed system's
    try:
        fresh: list[bytes] = []
        wait_for("the new records", lambda: fresh.extend(r.value for rs in consumer.poll(timeout_ms=200).values()
                                                         for r in rs) or len(fresh) >= 4)
        assert fresh == [f"new-{n}".encode() for n in range(4)], (
            f"the group read {fresh}: old records or its old offsets outlived the recreation")
        assert len(consumer.partitions_for_topic(topic) or ()) == 3
    finally:
        consumer.close()
