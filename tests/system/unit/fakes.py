"""Stand-ins for kafka-python's producer so the resilient client, the driver and the engine are
tested without a broker."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from evcharge.config import KafkaSettings
from evcharge.kafka import ResilientProducer
from evcharge.messages import Message, decode

FAST = KafkaSettings(
    bootstrap="127.0.0.1:1", topic_prefix="t.", bootstrap_timeout=0.1, backoff_min=0.01, backoff_max=0.05
)


@dataclass
class FakeFuture:
    ok: bool
    is_done: bool = True

    def succeeded(self) -> bool:
        return self.ok

    @property
    def exception(self) -> Exception | None:
        return None if self.ok else RuntimeError("fake delivery failure")


@dataclass
class FakeBroker:
    """Records what reached 'Kafka'; ``fail_next`` sends fail; ``down`` makes construction fail."""

    records: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)
    partitions: list[int | None] = field(default_factory=list)  # the partition asked for, per record
    fail_next: int = 0
    down: bool = False
    constructed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def factory(self) -> FakeProducer:
        if self.down:
            from kafka.errors import KafkaTimeoutError

            raise KafkaTimeoutError("no broker (fake)")
        self.constructed += 1
        return FakeProducer(self)

    def messages(self, topic_suffix: str = "") -> list[Message]:
        with self.lock:
            return [decode(v) for t, _k, v in self.records if t.endswith(topic_suffix)]


class FakeProducer:
    def __init__(self, broker: FakeBroker) -> None:
        self.broker = broker

    def send(
        self, topic: str, key: bytes | None = None, value: bytes = b"", partition: int | None = None
    ) -> FakeFuture:
        with self.broker.lock:
            if self.broker.fail_next > 0:
                self.broker.fail_next -= 1
                return FakeFuture(False)
            self.broker.records.append((topic, key, value))
            self.broker.partitions.append(partition)
            return FakeFuture(True)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


def fake_producer(broker: FakeBroker, name: str = "test") -> ResilientProducer:
    return ResilientProducer(FAST, name, factory=broker.factory)


def wait_for(predicate, timeout: float = 5.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until true; fail the test with a clear message after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.01)
