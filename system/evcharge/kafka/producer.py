"""The resilient producer: callers queue records and return; one thread gets them to Kafka, in order.

This is the seed's ``ensure_producer()`` done right (see ``docs/bug-story.md``): the original created
its producer once at start, so a Driver started before Kafka kept ``producer = None`` for ever.

``ResilientProducer`` never sends from the caller's thread, so no handler, meter or HTTP request ever
waits for Kafka or sees it missing. ``send`` appends to an in-memory *send queue* (not to be confused
with Central's ``outbox`` table, which is durable and lives in SQLite) and returns at once; one sender
thread creates the KafkaProducer when it first needs it, drains the queue in order, checks every send
future (kafka-python's ``flush`` does not report failures), and on any failure drops the producer,
waits a bounded backoff and starts again from the first undelivered record. Order is kept; a retry may
duplicate a record that was delivered after an earlier one failed, which is why every consumer dedups
by ``message_id``.

Why re-create rather than retry on the same KafkaProducer: kafka-python 3.0.12's idempotent producer
never sends again once an in-flight batch has expired (seen on a real broker with SIGSTOP/SIGCONT: the
producer stays silent after the broker resumes). Dropping it after *any* failed future avoids that:
keep it.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from evcharge.config import KafkaSettings
from evcharge.kafka.settings import DELIVERY_TIMEOUT_MS, Backoff, producer_config
from evcharge.messages import Message, encode

log = logging.getLogger("evcharge.kafka")

ProducerFactory = Callable[[], Any]


@dataclass
class PendingSend:
    """One record in the send queue; ``delivered`` is set once Kafka acknowledged it.

    Callers keep the item to learn when it is safe to forget (Central deletes its outbox rows only
    after ``delivered``), which is why the item, not a future, is what ``send`` returns.
    """

    topic: str
    key: bytes | None
    value: bytes
    message_id: str
    partition: int | None = None  # None: chosen by the key, as usual
    enqueued_at: float = field(default_factory=time.monotonic)
    delivered: threading.Event = field(default_factory=threading.Event)


class ResilientProducer:
    """A bounded, ordered send queue in front of a lazily (re-)created KafkaProducer.

    The bound (``max_pending``) keeps a long outage from exhausting memory; when it is reached the
    oldest record is dropped and logged as an error. The monitor sets a small bound on purpose: after
    an outage only its recent heartbeats matter.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        client_id: str,
        factory: ProducerFactory | None = None,
        max_pending: int = 100_000,
        batch_size: int = 1000,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self._factory = factory or (lambda: KafkaProducer(**producer_config(settings, client_id)))
        self._queue: collections.deque[PendingSend] = collections.deque()
        self._max_pending = max_pending
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
    def send(self, topic: str, message: Message, key: str | None = None) -> PendingSend:
        """Queue ``message`` for ``topic``; returns at once. Delivery is in order, at least once."""
        item = PendingSend(topic, key.encode() if key else None, encode(message), message.message_id)
        self.send_raw([item])
        return item

    def send_raw(self, items: Iterable[PendingSend]) -> None:
        """Queue records already encoded (Central re-sends its outbox rows as they were stored)."""
        with self._cond:
            for item in items:
                if len(self._queue) >= self._max_pending:
                    dropped = self._queue.popleft()
                    log.error("send queue full, dropping oldest record", extra={"dropped": dropped.message_id})
                self._queue.append(item)
            self._cond.notify_all()

    def wait_delivered(self, items: Iterable[PendingSend], timeout: float | None = None) -> bool:
        """Block until every item is acknowledged (or ``timeout`` passes): True if all were."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for item in items:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not item.delivered.wait(remaining):
                return False
        return True

    def pending(self) -> int:
        """How many records wait in the send queue (reported by health endpoints and failures)."""
        with self._cond:
            return len(self._queue)

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
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                batch = list(self._queue)[: self._batch_size]
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

    def _deliver(self, batch: list[PendingSend]) -> bool:
        """Send ``batch``; pop the acknowledged prefix from the send queue. False on any failure.

        Only a prefix counts as delivered, so a record is never acknowledged to its caller ahead of
        one queued before it that failed: that is what keeps the order across retries.
        """
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
                if self._queue and self._queue[0] is item:
                    self._queue.popleft()
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
