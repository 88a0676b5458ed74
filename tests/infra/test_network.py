"""The Kafka-aware network against the real broker and the real Toxiproxy server."""

from __future__ import annotations

import time
import uuid

import pytest
from kafka.errors import KafkaError

from chaos.faults import FaultContext, cut, link_down
from chaos.faults.base import applied
from chaos.infra.toxiproxy import Toxic
from tests import kafka_clients as clients

pytestmark = pytest.mark.integration


def round_trip(bootstrap: str, topic: str, value: bytes, timeout: float = 20.0) -> float:
    """Produce one message and consume it back; return the seconds it took."""
    started = time.monotonic()
    producer = clients.producer(bootstrap)
    try:
        producer.send(topic, value).get(timeout=timeout)
    finally:
        producer.close(timeout=2)
    consumer = clients.consumer(bootstrap, topic, consumer_timeout_ms=int(timeout * 1000))
    try:
        for record in consumer:
            if record.value == value:
                return time.monotonic() - started
    finally:
        consumer.close()
    raise AssertionError(f"{value!r} not consumed back from {topic} within {timeout}s")


def test_every_role_round_trips_through_its_own_proxies(infra, topic_prefix):
    for role in infra.endpoints.roles:
        round_trip(infra.endpoints.bootstrap(role), f"{topic_prefix}rt-{role}", f"hello {role}".encode())


def test_clients_learn_only_proxy_addresses(infra, topic_prefix):
    proxies = {p.listen for p in infra.toxiproxy.proxies().values()}
    for role, bootstrap in infra.endpoints.roles.items():
        producer = clients.producer(bootstrap)
        try:
            producer.send(f"{topic_prefix}meta", b"x").get(timeout=10)
            learned = {f"{b.host}:{b.port}" for b in producer._metadata.brokers()}
        finally:
            producer.close(timeout=2)
        role_proxies = {p.listen for p in infra.toxiproxy.proxies().values() if p.name.startswith(f"{role}-b")}
        assert learned <= role_proxies, f"role {role} learned non-proxy addresses {learned - proxies}"


def test_cutting_one_role_cuts_it_and_nobody_else(infra, topic_prefix):
    topic = f"{topic_prefix}cut"
    round_trip(infra.endpoints.bootstrap("central"), topic, b"warm-up")
    with link_down(infra, "driver"):
        driver = clients.producer(infra.endpoints.bootstrap("central"))  # another role still works
        try:
            driver.send(topic, b"central ok").get(timeout=10)
        finally:
            driver.close(timeout=2)
        with pytest.raises(KafkaError):
            clients.producer(infra.endpoints.bootstrap("driver"), bootstrap_timeout_ms=1500)
    round_trip(infra.endpoints.bootstrap("driver"), topic, b"driver back")


def test_latency_toxic_measurably_delays(infra, topic_prefix):
    bootstrap = infra.endpoints.bootstrap("harness")
    topic = f"{topic_prefix}lat"
    producer = clients.producer(bootstrap)
    try:
        producer.send(topic, b"warm").get(timeout=10)
        base = _median_send(producer, topic, 5)
        for name in infra.proxy_names("harness"):
            infra.toxiproxy.add_toxic(name, Toxic("lat", "latency", "downstream", 1.0, {"latency": 300, "jitter": 0}))
        slowed = _median_send(producer, topic, 3)
    finally:
        producer.close(timeout=2)
    assert slowed >= base + 0.25, f"latency toxic of 300 ms moved the median send from {base:.3f}s to {slowed:.3f}s"


def _median_send(producer, topic: str, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.monotonic()
        producer.send(topic, b"v").get(timeout=20)
        times.append(time.monotonic() - t)
    return sorted(times)[n // 2]


def test_timeout_toxic_stalls_and_heal_restores(infra, topic_prefix):
    bootstrap = infra.endpoints.bootstrap("cp")
    topic = f"{topic_prefix}stall"
    producer = clients.producer(bootstrap, request_timeout_ms=2000, delivery_timeout_ms=120000)
    try:
        producer.send(topic, b"before").get(timeout=10)
        stall = FaultContext(infra).make_fault("timeout", "cp", {"timeout": 0, "stream": "upstream"})
        with applied(stall):
            stalled = producer.send(topic, b"during")
            with pytest.raises(KafkaError):
                stalled.get(timeout=3)  # nothing gets through while the link is stalled
        producer.send(topic, b"after").get(timeout=30)
    finally:
        producer.close(timeout=2)


def test_link_down_errors_then_recovers_after_heal(infra, topic_prefix):
    bootstrap = infra.endpoints.bootstrap("monitor")
    topic = f"{topic_prefix}down"
    producer = clients.producer(bootstrap, request_timeout_ms=1500, delivery_timeout_ms=3000)
    try:
        producer.send(topic, b"up").get(timeout=10)
        down = cut(infra, "monitor")
        with pytest.raises(KafkaError):
            producer.send(topic, b"lost?").get(timeout=10)
        down.heal()
        clients.send_until_acked(producer, topic, uuid.uuid4().bytes, within=30)
    finally:
        producer.close(timeout=2)
