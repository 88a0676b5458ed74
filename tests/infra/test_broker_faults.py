"""Real signals on real brokers: acknowledged messages survive, clients stall and recover."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaError

from tests import kafka_clients as clients

pytestmark = pytest.mark.integration


def produce_acked(bootstrap: str, topic: str, count: int, **overrides) -> list[bytes]:
    """Send ``count`` messages and return those the cluster acknowledged."""
    producer = clients.producer(bootstrap, **overrides)
    acked = []
    try:
        for i in range(count):
            value = f"m-{i}".encode()
            try:
                producer.send(topic, value).get(timeout=30)
                acked.append(value)
            except KafkaError:
                pass
    finally:
        producer.close(timeout=5)
    return acked


def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[bytes]:
    consumer = clients.consumer(bootstrap, topic, consumer_timeout_ms=int(timeout * 1000))
    seen: list[bytes] = []
    try:
        for record in consumer:
            seen.append(record.value)
            if len(seen) >= expected:
                break
    finally:
        consumer.close()
    return seen


def test_sigkill_and_restart_keeps_acknowledged_messages(infra, topic_prefix):
    bootstrap = infra.endpoints.bootstrap("harness")
    topic = f"{topic_prefix}durable"
    acked = produce_acked(bootstrap, topic, 50)
    assert len(acked) == 50
    broker = infra.broker(1)
    broker.kill()
    assert not broker.is_running()
    broker.start()
    infra.wait_brokers()
    assert set(consume_all(bootstrap, topic, len(acked))) >= set(acked)


def test_sigstop_makes_clients_time_out_and_sigcont_recovers(infra, topic_prefix):
    bootstrap = infra.endpoints.bootstrap("harness")
    topic = f"{topic_prefix}paused"
    producer = clients.producer(bootstrap, request_timeout_ms=1500, delivery_timeout_ms=2500)
    try:
        producer.send(topic, b"before").get(timeout=10)
        broker = infra.broker(1)
        broker.pause()
        assert broker.is_paused()
        with pytest.raises(KafkaError):
            producer.send(topic, b"during").get(timeout=10)
        broker.resume()
        clients.send_until_acked(producer, topic, b"after", within=30)
    finally:
        producer.close(timeout=2)


@pytest.mark.slow
def test_three_nodes_lose_no_acknowledged_message_when_the_leader_dies(infra3, topic_prefix):
    topic = f"{topic_prefix}replicated"
    bootstrap = infra3.endpoints.bootstrap("harness")
    clients.create_topic(bootstrap, topic, replication=3, configs={"min.insync.replicas": "2"})
    first = produce_acked(bootstrap, topic, 100, acks="all")
    leader = infra3.leader(topic)
    infra3.broker(leader).kill()
    second = produce_acked(bootstrap, topic, 100, acks="all")
    assert infra3.leader(topic) != leader, "a new leader was elected"
    acked = first + second
    assert len(second) > 0, "the cluster kept accepting writes with one node of three down"
    seen = consume_all(bootstrap, topic, len(acked), timeout=60)
    missing = set(acked) - set(seen)
    assert not missing, f"{len(missing)} acknowledged messages lost after killing leader {leader}"
