"""Every toxic kind on the real Toxiproxy in front of the real broker, seen by a raw Kafka round trip.

The probe is one Metadata request on a fresh socket through the ``driver`` role's proxy: a few
milliseconds when healthy, so a fault's effect and the heal's recovery are both visible within a
second. One test also checks what a kafka-python producer sees.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest
from kafka.errors import KafkaError

from chaos.faults import FaultContext, fault_kinds
from chaos.faults.base import applied
from chaos.faults.network import ToxicFault
from chaos.infra.kafka_protocol import fetch_metadata
from tests import kafka_clients as clients

pytestmark = pytest.mark.integration

BIG = [f"no-such-topic-{i:03d}-" + "x" * 60 for i in range(40)]  # a ~3 KB answer, for bandwidth


def timed(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        call()
    except OSError as exc:  # ConnectionError, TimeoutError and resets are all OSErrors
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def metadata(address: str, topics: list[str] | None = None, timeout: float = 2.0) -> Callable[[], object]:
    return lambda: fetch_metadata(address, topics, timeout)


def closed_by_broker(address: str) -> Callable[[], object]:
    """Send an invalid frame size: the broker closes the connection; return once the client sees EOF."""

    def call() -> None:
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=3.0) as sock:
            sock.sendall(b"\x7f\xff\xff\xff")
            while sock.recv(1024):
                pass

    return call


def slower_than(seconds: float) -> Callable[[float, BaseException | None], bool]:
    return lambda took, error: error is None and took >= seconds


def fails_with(kind: type[BaseException], within: float) -> Callable[[float, BaseException | None], bool]:
    return lambda took, error: isinstance(error, kind) and took < within


CASES = {
    "latency": ("latency", {"latency": 300, "jitter": 20}, None, slower_than(0.25)),
    "latency-upstream": ("latency", {"latency": 200, "stream": "upstream"}, None, slower_than(0.18)),
    "bandwidth": ("bandwidth", {"rate": 10}, BIG, slower_than(0.15)),
    "slicer": ("slicer", {"average_size": 5, "delay": 30000}, None, slower_than(0.2)),
    "timeout": ("timeout", {"timeout": 300}, None, fails_with(ConnectionError, 1.5)),
    "timeout-0-blackhole": ("timeout", {"timeout": 0}, None, fails_with(TimeoutError, 2.0)),
    "blackhole-both": ("blackhole", {"stream": "both"}, None, fails_with(TimeoutError, 2.0)),
    "reset_peer": ("reset_peer", {}, None, fails_with(OSError, 1.0)),
    "limit_data": ("limit_data", {"bytes": 10}, None, fails_with(ConnectionError, 1.0)),
}


@pytest.fixture
def ctx(infra) -> FaultContext:
    return FaultContext(infra)


def our_toxics(infra) -> list[str]:
    return [t.name for p in infra.toxiproxy.proxies().values() for t in p.toxics if t.name.startswith("chaos-")]


@pytest.mark.parametrize("case", list(CASES))
def test_each_toxic_is_felt_through_the_proxy_and_healing_restores_it(infra, ctx, case) -> None:
    kind, params, topics, affected = CASES[case]
    address = infra.endpoints.bootstrap("driver")
    probe = metadata(address, topics, timeout=1.5)
    took, error = timed(probe)
    assert error is None and took < 0.15, f"healthy round trip {took:.3f}s, {error!r}"
    fault = ctx.make_fault(kind, "driver", params)
    fault.apply()
    try:
        took, error = timed(probe)
        assert affected(took, error), f"{fault.name}: round trip {took:.3f}s, {error!r}"
        other_took, other_error = timed(metadata(infra.endpoints.bootstrap("central"), topics))
        assert other_error is None and other_took < 0.15, "another role's link is not affected"
    finally:
        fault.heal()
    fault.heal()
    took, error = timed(probe)
    assert error is None and took < 0.15, f"after heal: {took:.3f}s, {error!r}"
    assert our_toxics(infra) == []


def test_slow_close_holds_the_close_back(infra, ctx) -> None:
    probe = closed_by_broker(infra.endpoints.bootstrap("driver"))
    assert timed(probe)[0] < 0.3
    with_fault = ctx.make_fault("slow_close", "driver@1", {"delay": 600})
    with_fault.apply()
    try:
        took, _ = timed(probe)
        assert took >= 0.55, f"the close came after {took:.3f}s"
    finally:
        with_fault.heal()
    assert timed(probe)[0] < 0.3


def test_toxicity_zero_affects_nothing_and_heal_leaves_other_toxics(infra, ctx) -> None:
    address = infra.endpoints.bootstrap("driver")
    harmless = ctx.make_fault("timeout", "driver", {"timeout": 0, "toxicity": 0.0})
    harmless.apply()
    try:
        took, error = timed(metadata(address))
        assert error is None and took < 0.15
        other = ctx.make_fault("latency", "driver", {"latency": 250})
        other.apply()
        harmless.heal()
        took, error = timed(metadata(address))
        assert error is None and took >= 0.2, "the other fault's toxic is still there"
        other.heal()
    finally:
        harmless.heal()
    assert our_toxics(infra) == []


def test_link_down_cuts_only_the_target_role(infra, ctx) -> None:
    fault = ctx.make_fault("link-down", "driver", {})
    fault.apply()
    try:
        error = timed(metadata(infra.endpoints.bootstrap("driver")))[1]
        assert isinstance(error, ConnectionRefusedError), error
        for role in ("central", "cp", "harness"):
            assert timed(metadata(infra.endpoints.bootstrap(role)))[1] is None, role
    finally:
        fault.heal()
    fault.heal()
    assert timed(metadata(infra.endpoints.bootstrap("driver")))[1] is None


def test_a_kafka_producer_fails_under_a_blackhole_and_recovers_after_the_heal(infra, ctx, topic_prefix) -> None:
    topic = f"{topic_prefix}bh"
    producer = clients.producer(
        infra.endpoints.bootstrap("driver"), request_timeout_ms=800, delivery_timeout_ms=1200, max_block_ms=1500
    )
    try:
        producer.send(topic, b"before").get(timeout=10)
        fault = ctx.make_fault("blackhole", "driver", {"stream": "both"})
        fault.apply()
        try:
            with pytest.raises(KafkaError):
                producer.send(topic, b"during").get(timeout=5)
        finally:
            fault.heal()
        clients.send_until_acked(producer, topic, b"after", within=10, attempt=3)
    finally:
        producer.close(timeout=2)


@pytest.mark.parametrize("kind", fault_kinds(of=ToxicFault))
def test_every_toxic_kind_is_one_the_real_server_accepts(infra, ctx, kind) -> None:
    """The registry is the only list of toxics: each kind's toxic type must exist on the real server."""
    fault = ctx.make_fault(kind, "driver", {})
    fault.apply()
    try:
        assert our_toxics(infra), f"{fault.name} added no toxic"
    finally:
        fault.heal()
    assert our_toxics(infra) == []


def test_flap_refuses_then_serves_again_and_again_through_the_real_proxy(infra, ctx) -> None:
    probe = metadata(infra.endpoints.bootstrap("driver"), timeout=0.5)
    fault = ctx.make_fault("flap", "driver", {"down": 300, "up": 300})
    seen: list[bool] = []
    with applied(fault):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (seen.count(True) and seen.count(False) >= 2):
            seen.append(timed(probe)[1] is None)
            time.sleep(0.05)
    assert False in seen and True in seen, f"the link went down and came back while flapping: {seen}"
    _, error = timed(probe)
    assert error is None, f"healed: the link serves ({error!r})"
