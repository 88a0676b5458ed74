"""The one resilient Kafka client every component uses: lazy, re-created with bounded backoff, outboxed.

This is the seed's ``ensure_producer()`` done right (see ``shared/seed/driver-before-kafka.md``): the
original created its producer once at start, so a Driver started before Kafka kept ``producer = None``
for ever. Here:

- ``ResilientProducer`` never sends from the caller's thread. ``send`` appends to an in-memory
  outbox and returns at once; one sender thread creates the KafkaProducer when it first needs it,
  drains the outbox in order, checks every send future (kafka-python's ``flush`` does not report
  failures), and on any failure drops the producer, waits a bounded backoff and starts again from
  the first undelivered record. Order is kept; a retry may duplicate a record that was delivered
  after an earlier one failed, which is why every consumer dedups by ``message_id``.
- ``ResilientConsumer.poll`` creates the KafkaConsumer lazily as well and re-creates it after errors;
  with no broker it returns an empty batch after the backoff instead of raising.

kafka-python settings chosen (its defaults suit long-lived servers, not fast recovery):
``bootstrap_timeout_ms`` = our ``bootstrap_timeout`` (3 s, not 30 s) so one attempt never blinds a
component for long; ``reconnect_backoff_max_ms`` = our ``reconnect_backoff_max`` (0.25 s, not 30 s)
so a healed link is noticed at once; ``delivery_timeout_ms`` = 10 s and ``max_block_ms`` = the
bootstrap timeout, so a dead link surfaces as a failed future we can retry rather than a long block.
acks=all and idempotence stay on. But kafka-python 3.0.12's idempotent producer never sends again
once an in-flight batch has expired (seen on a real broker with SIGSTOP/SIGCONT: the producer stays
silent after the broker resumes), which is one more reason ``ResilientProducer`` drops and
re-creates its KafkaProducer after *any* failed future, rather than retrying on the same one: keep it.

Consumers use static group membership (``group_instance_id`` = the group id): every group here has
exactly one member (Central, one engine, one driver), so when a member is re-created or restarted,
the broker hands it its partitions at once instead of waiting for the old member's session timeout
(10 s). The price: two live processes with the same id fence each other, which is a deployment error
(two Centrals, two engines for one CP) and is logged as such.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import FencedInstanceIdError, KafkaError

from evcharge.config import KafkaSettings
from evcharge.messages import Message, encode
from evcharge.topics import ensure_topics, wait_for_partitions

log = logging.getLogger("evcharge.kafka")

RECONNECT_BACKOFF_MS = 50
DELIVERY_TIMEOUT_MS = 10_000
REQUEST_TIMEOUT_MS = 5_000


class Backoff:
    """Exponential delay between ``minimum`` and ``maximum`` seconds, with +-20 % jitter."""

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.attempts = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.minimum * (2**self.attempts))
        self.attempts += 1
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.attempts = 0


@dataclass
class OutboxItem:
    """One record waiting to be sent; ``delivered`` is set once Kafka acknowledged it."""

    topic: str
    key: bytes | None
    value: bytes
    message_id: str
    partition: int | None = None  # None: chosen by the key, as usual
    enqueued_at: float = field(default_factory=time.monotonic)
    delivered: threading.Event = field(default_factory=threading.Event)


METADATA_MAX_AGE_MS = 2_000


def common_config(settings: KafkaSettings, client_id: str) -> dict[str, Any]:
    backoff_max_ms = max(1, int(settings.reconnect_backoff_max * 1000))
    return {
        "bootstrap_servers": settings.bootstrap.split(","),
        "client_id": client_id,
        "bootstrap_timeout_ms": int(settings.bootstrap_timeout * 1000),
        "reconnect_backoff_ms": min(RECONNECT_BACKOFF_MS, backoff_max_ms),
        "reconnect_backoff_max_ms": backoff_max_ms,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
        # Topics are created on first use by whoever writes first; a consumer that subscribed before
        # that sees no partitions until its next metadata refresh (5 min by default). The chaos suite
        # caught an engine that missed its start_supply this way after a link cut: refresh often.
        "metadata_max_age_ms": METADATA_MAX_AGE_MS,
    }


def static_member_id(group_id: str) -> str:
    """The ``group_instance_id`` of a group's only member: the group id in the characters Kafka allows."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", group_id)[:249]


def producer_config(settings: KafkaSettings, client_id: str) -> dict[str, Any]:
    return {
        **common_config(settings, client_id),
        "acks": "all",
        "linger_ms": 1,
        "delivery_timeout_ms": DELIVERY_TIMEOUT_MS,
        "max_block_ms": int(settings.bootstrap_timeout * 1000),
    }


def consumer_config(settings: KafkaSettings, group_id: str, client_id: str, auto_offset_reset: str) -> dict[str, Any]:
    return {
        **common_config(settings, client_id),
        "group_id": group_id,
        "group_instance_id": static_member_id(group_id),
        "enable_auto_commit": False,
        "auto_offset_reset": auto_offset_reset,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
        # A fetch returns as soon as a record arrives, so this bounds only how often an idle consumer
        # asks again: 50 ms cost every idle service and the broker twice the CPU for no latency gain
        # (measured on a scenario's 7 processes at rest: 15% of a core -> 7.6%, broker 11.6% -> 8.6%).
        "fetch_max_wait_ms": 500,
    }


def new_consumer(topics: list[str], config: dict[str, Any]) -> KafkaConsumer:
    """Create the topics if needed (see ``evcharge.topics``), then the consumer subscribed to them."""
    ensure_topics(config, topics)
    consumer = KafkaConsumer(*topics, **config)
    try:
        wait_for_partitions(consumer, topics)
    except BaseException:
        consumer.close(autocommit=False)
        raise
    return consumer


ProducerFactory = Callable[[], Any]
ConsumerFactory = Callable[[], Any]


class ResilientProducer:
    """An outbox in front of a lazily (re-)created KafkaProducer; see the module docstring."""

    def __init__(
        self,
        settings: KafkaSettings,
        client_id: str,
        factory: ProducerFactory | None = None,
        max_outbox: int = 100_000,
        batch_size: int = 1000,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self._factory = factory or (lambda: KafkaProducer(**producer_config(settings, client_id)))
        self._outbox: collections.deque[OutboxItem] = collections.deque()
        self._max_outbox = max_outbox
        self._batch_size = batch_size
        self._cond = threading.Condition()
        self._producer: Any = None
        self._backoff = Backoff(settings.backoff_min, settings.backoff_max)
        self._closed = False
        self.connected = False
        self.delivered_count = 0
        self._thread = threading.Thread(target=self._run, name=f"{client_id}-sender", daemon=True)
        self._thread.start()

    # -- API -------------------------------------------------------------------------------------
    def send(self, topic: str, message: Message, key: str | None = None) -> OutboxItem:
        """Queue ``message`` for ``topic``; returns at once. Delivery is in order, at least once."""
        item = OutboxItem(topic, key.encode() if key else None, encode(message), message.message_id)
        self.send_raw([item])
        return item

    def send_raw(self, items: Iterable[OutboxItem]) -> None:
        with self._cond:
            for item in items:
                if len(self._outbox) >= self._max_outbox:
                    dropped = self._outbox.popleft()
                    log.error("outbox full, dropping oldest record", extra={"dropped": dropped.message_id})
                self._outbox.append(item)
            self._cond.notify_all()

    def wait_delivered(self, items: Iterable[OutboxItem], timeout: float | None = None) -> bool:
        """Block until every item is acknowledged (or ``timeout`` passes): True if all were."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for item in items:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not item.delivered.wait(remaining):
                return False
        return True

    def pending(self) -> int:
        with self._cond:
            return len(self._outbox)

    def close(self, drain_timeout: float = 5.0) -> None:
        """Try to deliver what is queued for up to ``drain_timeout`` s, then stop the sender."""
        deadline = time.monotonic() + drain_timeout
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=drain_timeout + 1)
        self._drop_producer()

    # -- sender thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._outbox and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                batch = list(self._outbox)[: self._batch_size]
            if not self._ensure_producer() or not self._deliver(batch):
                self._pause()

    def _ensure_producer(self) -> bool:
        if self._producer is not None:
            return True
        try:
            self._producer = self._factory()
        except (KafkaError, OSError, ValueError) as exc:
            log.warning("kafka producer not available yet: %s", exc, extra={"client": self.client_id})
            return False
        log.info("kafka producer connected", extra={"client": self.client_id})
        self.connected = True
        return True

    def _deliver(self, batch: list[OutboxItem]) -> bool:
        """Send ``batch``; pop the acknowledged prefix from the outbox. False on any failure."""
        futures = []
        try:
            for item in batch:
                futures.append(
                    self._producer.send(item.topic, key=item.key, value=item.value, partition=item.partition)
                )
            self._producer.flush(timeout=DELIVERY_TIMEOUT_MS / 1000 + 1)
        except (KafkaError, OSError, AssertionError) as exc:
            log.warning("kafka send failed: %s", exc, extra={"client": self.client_id})
        delivered = 0
        for future in futures:
            if not (future.is_done and future.succeeded()):
                break
            delivered += 1
        with self._cond:
            for item in batch[:delivered]:
                if self._outbox and self._outbox[0] is item:
                    self._outbox.popleft()
                item.delivered.set()
        self.delivered_count += delivered
        if delivered < len(batch):
            failed = futures[delivered] if delivered < len(futures) else None
            reason = getattr(failed, "exception", None) if failed is not None else "send raised"
            log.warning(
                "kafka delivery failed, will retry from the first undelivered record: %s",
                reason,
                extra={"client": self.client_id, "undelivered": len(batch) - delivered},
            )
            return False
        self._backoff.reset()
        return True

    def _pause(self) -> None:
        """Forget the producer (a fresh one re-resolves everything) and wait a bounded backoff."""
        self._drop_producer()
        delay = self._backoff.next_delay()
        with self._cond:
            if not self._closed:
                self._cond.wait(delay)

    def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        self.connected = False
        if producer is not None:
            with contextlib.suppress(Exception):
                producer.close(timeout=0)


def _sleep_until(deadline: float) -> None:
    """Wait out an empty poll that came back early.

    While the group coordinator is unknown or the group is rebalancing, kafka-python's ``poll`` can
    come back at once with nothing; a caller looping on it would then spin a core (seen with py-spy
    in an engine during a 3-node leader kill). Only empty polls wait, and never past the timeout the
    caller chose, so records that are flowing are not delayed.
    """
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def _log_commit_failure(_offsets: object, error: object) -> None:
    if isinstance(error, Exception):
        log.warning("offset commit failed (records will be redelivered and deduplicated): %s", error)


class ResilientConsumer:
    """A KafkaConsumer created on first ``poll`` and re-created after errors, with bounded backoff.

    Offsets are committed only when the owner calls ``commit`` (``enable_auto_commit`` is off), so
    an owner that commits after its own work gets at-least-once processing.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        topics: Iterable[str],
        group_id: str,
        client_id: str,
        factory: ConsumerFactory | None = None,
        auto_offset_reset: str = "earliest",
    ) -> None:
        self.topics = list(topics)
        self.client_id = client_id
        config = consumer_config(settings, group_id, client_id, auto_offset_reset)
        self._factory = factory or (lambda: new_consumer(self.topics, config))
        self._consumer: Any = None
        self._backoff = Backoff(settings.backoff_min, settings.backoff_max)
        self._retry_at = 0.0
        self.connections = 0  # how many times a consumer was (re-)created; owners watch it

    def partitions(self, topic: str) -> list[int]:
        """The partitions of ``topic`` the group gave us, sorted ([] before the first assignment)."""
        return sorted(tp.partition for tp in self._assignment() if tp.topic == topic)

    def _assignment(self) -> set[Any]:
        if self._consumer is None:
            return set()
        try:
            return set(self._consumer.assignment())
        except Exception:
            return set()

    def poll(self, timeout: float, max_records: int = 500) -> list[Any]:
        """Records available within ``timeout`` s; [] (after waiting) when Kafka is unreachable."""
        consumer = self._ensure(timeout)
        if consumer is None:
            return []
        deadline = time.monotonic() + timeout
        try:
            batches = consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        except FencedInstanceIdError as exc:
            log.error(
                "another live consumer uses this group's static member id (two processes with one id?): %s",
                exc,
                extra={"client": self.client_id},
            )
            self._drop()
            return []
        except (KafkaError, OSError, AssertionError) as exc:
            log.warning("kafka poll failed, re-creating the consumer: %s", exc, extra={"client": self.client_id})
            self._drop()
            return []
        self._backoff.reset()
        records = [record for records in batches.values() for record in records]
        if not records:
            _sleep_until(deadline)
        return records

    def commit(self, wait: bool = True) -> bool:
        """Commit the positions of everything polled so far; False (logged) if Kafka refused.

        ``wait=False`` commits asynchronously: the caller does not pay a round trip per batch. It is
        safe only for owners that dedup, because a lost or reordered async commit means some records
        are delivered again, never that one is skipped.
        """
        if self._consumer is None:
            return False
        try:
            if wait:
                self._consumer.commit(timeout_ms=REQUEST_TIMEOUT_MS)
            else:
                self._consumer.commit_async(callback=_log_commit_failure)
        except (KafkaError, OSError, AssertionError) as exc:
            _log_commit_failure(None, exc)
            return False
        return True

    def close(self) -> None:
        self._drop()

    def _ensure(self, timeout: float) -> Any:
        if self._consumer is not None:
            return self._consumer
        now = time.monotonic()
        if now < self._retry_at:
            time.sleep(min(timeout, self._retry_at - now))
            return None
        try:
            self._consumer = self._factory()
        except (KafkaError, OSError, ValueError) as exc:
            self._retry_at = time.monotonic() + self._backoff.next_delay()
            log.warning("kafka consumer not available yet: %s", exc, extra={"client": self.client_id})
            return None
        self.connections += 1
        log.info("kafka consumer connected", extra={"client": self.client_id, "topics": self.topics})
        return self._consumer

    def _drop(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._retry_at = time.monotonic() + self._backoff.next_delay()
        if consumer is not None:
            with contextlib.suppress(Exception):
                consumer.close(autocommit=False)
