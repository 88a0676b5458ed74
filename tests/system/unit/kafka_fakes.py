"""A stand-in for kafka-python's producer whose answers a test scripts record by record.

``fakes.FakeBroker`` fails the next N sends whatever they are; the tests of records that can never
be sent need more: kafka-python's own size check in ``send`` (it raises ``MessageSizeTooLargeError``
before sending), and a broker that answers one record with a chosen error (``MESSAGE_TOO_LARGE``, a
topic authorization failure, a retriable timeout) while it takes the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka.errors import MessageSizeTooLargeError

from evcharge.kafka import MAX_REQUEST_SIZE, ResilientProducer

from .fakes import FAST, FakeBroker, FakeProducer

Rule = Callable[[str, bytes | None, bytes], BaseException | None]
"""(topic, key, value) -> the error for this record, or None."""


def never(topic: str, key: bytes | None, value: bytes) -> BaseException | None:
    return None


@dataclass
class ScriptedFuture:
    exception: BaseException | None = None
    is_done: bool = True

    def succeeded(self) -> bool:
        return self.exception is None


@dataclass
class ScriptedBroker(FakeBroker):
    """Records what reached 'Kafka'. ``refuse``: the broker's answer per record (None: accepted);
    ``raise_on_send``: what ``send`` raises per record; records above ``max_request_size`` are refused
    by ``send`` itself, as kafka-python does (with its own overhead, which ``record_fits`` bounds)."""

    refuse: Rule = never
    raise_on_send: Rule = never
    max_request_size: int = MAX_REQUEST_SIZE
    attempts: Counter[bytes] = field(default_factory=Counter)  # per value: how often it was handed over

    def factory(self) -> ScriptedProducer:  # type: ignore[override]
        self.constructed += 1
        return ScriptedProducer(self)

    def types(self) -> list[str]:
        return [m.type for m in self.messages()]


class ScriptedProducer(FakeProducer):
    broker: ScriptedBroker

    def send(
        self, topic: str, key: bytes | None = None, value: bytes = b"", partition: int | None = None
    ) -> ScriptedFuture:  # type: ignore[override]
        broker = self.broker
        with broker.lock:
            broker.attempts[value] += 1
            size = 61 + 21 + len(key or b"") + len(value)  # kafka-python's estimate, roughly
            if size > broker.max_request_size:
                raise MessageSizeTooLargeError(f"The message is {size} bytes when serialized")
            raised = broker.raise_on_send(topic, key, value)
            if raised is not None:
                raise raised
            refused = broker.refuse(topic, key, value)
            if refused is None:
                broker.records.append((topic, key, value))
            return ScriptedFuture(refused)


def scripted_producer(broker: ScriptedBroker, name: str = "test", **kwargs: object) -> ResilientProducer:
    return ResilientProducer(FAST, name, factory=broker.factory, **kwargs)  # type: ignore[arg-type]


def containing(text: str, error: Callable[[], BaseException], times: int | None = None) -> Rule:
    """A rule: records whose value contains ``text`` get ``error()`` (the first ``times`` attempts only)."""
    seen = Counter[str]()

    def rule(topic: str, key: bytes | None, value: bytes) -> BaseException | None:
        if text.encode() not in value:
            return None
        seen[text] += 1
        return error() if times is None or seen[text] <= times else None

    return rule
