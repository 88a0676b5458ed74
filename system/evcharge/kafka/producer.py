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

Records that can never be sent do not block the ones behind them. A record larger than
``max_request_size`` fails as it is queued; one the broker refuses for good (``MESSAGE_TOO_LARGE``,
``INVALID_RECORD``, a topic authorization failure: ``failures.PERMANENT_ERRORS``) fails at once; one
failing with an error we cannot place fails after ``failures.MAX_ATTEMPTS`` tries; a failure that is
Kafka's (broker away, timeouts, leader changes) is retried for ever, as before. A failed record is
taken off the queue with ``PendingSend.failed`` = why, logged, counted (``failed_count``) and handed
to ``on_failed``: the owner decides what a lost record means (Central dead-letters its reply).

The send queue is bounded with an explicit policy (``sendqueue``): a send says whether its record
is *droppable* (by default heartbeats, telemetry and clock ticks are, everything else is not). When
``max_pending`` records wait, the oldest droppable one is dropped (logged, counted in
``dropped_count``, failed with ``sendqueue.DROPPED``); a record that is not droppable is never
dropped: if none is, it is kept beyond the bound and an error is logged. So memory for droppable
records stays bounded, and what must not be lost waits for Kafka however long it takes. The monitor
sets a small bound on purpose: after an outage only its recent heartbeats matter.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from evcharge.config import KafkaSettings
from evcharge.kafka.failures import MAX_ATTEMPTS, Kind, classify, describe
from evcharge.kafka.sendqueue import DROPPABLE_TYPES, DROPPED, PendingSend, SendQueue
from evcharge.kafka.settings import DELIVERY_TIMEOUT_MS, MAX_REQUEST_SIZE, Backoff, producer_config, record_fits
from evcharge.messages import Message, encode

log = logging.getLogger("evcharge.kafka")

ProducerFactory = Callable[[], Any]
Outcome = tuple[PendingSend, str | None]
"""A record settled by one attempt: None if delivered, else why it failed for good."""

__all__ = ["PendingSend", "ProducerFactory", "ResilientProducer"]


class ResilientProducer:
    """A bounded, ordered send queue in front of a lazily (re-)created KafkaProducer (see the module doc)."""

    def __init__(
        self,
        settings: KafkaSettings,
        client_id: str,
        factory: ProducerFactory | None = None,
        max_pending: int = 100_000,
        batch_size: int = 1000,
        max_request_size: int = MAX_REQUEST_SIZE,
        on_failed: Callable[[PendingSend], None] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        seal: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.settings = settings
        self._seal = seal  # the sender's MAC on each record (evcharge.auth); None: sent as encoded
        self.client_id = client_id
        self.max_request_size = max_request_size
        self._factory = factory or (lambda: KafkaProducer(**producer_config(settings, client_id, max_request_size)))
        self._queue = SendQueue(max_pending)
        self._batch_size = batch_size
        self._on_failed = on_failed
        self._max_attempts = max_attempts
        self._stuck: tuple[PendingSend, int] | None = None  # head record failing with a SUSPECT error, how often
        self._cond = threading.Condition()
        self._producer: Any = None
        self._backoff = Backoff(settings.backoff_min, settings.backoff_max)
        self._closed = False
        self.connected = False
        self.delivered_count = 0
        self.failed_count = 0  # records failed for good, drops included
        self._thread = threading.Thread(target=self._run, name=f"{client_id}-sender", daemon=True)
        self._thread.start()

    # -- API -------------------------------------------------------------------------------------
    def send(self, topic: str, message: Message, key: str | None = None, droppable: bool | None = None) -> PendingSend:
        """Queue ``message`` for ``topic``; returns at once. Delivery is in order, at least once.

        ``droppable`` None: by the message's type (``sendqueue.DROPPABLE_TYPES``)."""
        item = self.record(topic, message, key, droppable)
        self.send_raw([item])
        return item

    def record(
        self, topic: str, message: Message, key: str | None = None, droppable: bool | None = None,
    ) -> PendingSend:
        """``message`` encoded and sealed as ``send`` would queue it, not queued: for a caller that
        stores the very record before it goes (the engine's completions), then ``send_raw``s it."""
        if droppable is None:
            droppable = message.type in DROPPABLE_TYPES
        raw_key = key.encode() if key else None
        value = encode(message) if self._seal is None else self._seal(encode(message))
        return PendingSend(topic, raw_key, value, message.message_id, droppable=droppable)

    def send_raw(self, items: Iterable[PendingSend]) -> None:
        """Queue records already encoded (Central re-sends its outbox rows as they were stored)."""
        failures: list[Outcome] = []
        with self._cond:
            for item in items:
                if not record_fits(item.key, item.value, self.max_request_size):
                    limit = self.max_request_size
                    failures.append((item, f"record too large: {item.size} bytes, max_request_size {limit}"))
                elif (victim := self._queue.add(item)) is not None:
                    failures.append((victim, DROPPED))
            self._cond.notify_all()
        self._settle(failures)

    @property
    def dropped_count(self) -> int:
        """Droppable records dropped by the queue's policy (also counted in ``failed_count``)."""
        return self._queue.dropped

    def wait_settled(self, items: Iterable[PendingSend], timeout: float | None = None) -> bool:
        """Block until every item is delivered or failed for good (or ``timeout`` passes): True if all are."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for item in items:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not item.settled.wait(remaining):
                return False
        return True

    def wait_delivered(self, items: Iterable[PendingSend], timeout: float | None = None) -> bool:
        """Block until every item is acknowledged (or ``timeout`` passes, or one failed): True if all were."""
        items = list(items)
        return self.wait_settled(items, timeout) and all(item.delivered.is_set() for item in items)

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
                while not len(self._queue) and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                batch = self._queue.head(self._batch_size)
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
        """Send ``batch``; take the settled prefix off the send queue. False if the rest must wait.

        Only a prefix counts as settled, so a record is never acknowledged to its caller ahead of
        one queued before it that failed and will be retried: that is what keeps the order across
        retries. A record that failed for good is part of the prefix: the ones behind it go on.
        """
        futures, raised = self._send_all(batch)
        outcomes, waiting, future_failed = self._outcomes(batch, futures, raised)
        self._settle(outcomes)
        self.delivered_count += sum(failure is None for _, failure in outcomes)
        if waiting is not None:
            log.warning(
                "kafka delivery failed, will retry from the first undelivered record: %s",
                waiting,
                extra={"client": self.client_id, "undelivered": len(batch) - len(outcomes)},
            )
            return False
        if future_failed:
            self._drop_producer()  # a record was refused: go on with a fresh producer (module doc)
        self._backoff.reset()
        return True

    def _send_all(self, batch: list[PendingSend]) -> tuple[list[Any], BaseException | None]:
        """Hand ``batch`` to kafka-python and flush: the futures, and what ``send`` raised, if it did
        (for the record after the last future; the ones after it were not handed over)."""
        futures = []
        raised = None
        for item in batch:
            try:
                futures.append(
                    self._producer.send(item.topic, key=item.key, value=item.value, partition=item.partition)
                )
            except Exception as exc:  # classified by _outcomes: the sender thread must never die
                raised = exc
                break
        try:
            self._producer.flush(timeout=DELIVERY_TIMEOUT_MS / 1000 + 1)
        except Exception as exc:  # the futures say what was not delivered
            log.warning("kafka flush failed: %s", exc, extra={"client": self.client_id})
        return futures, raised

    def _outcomes(
        self, batch: list[PendingSend], futures: list[Any], raised: BaseException | None
    ) -> tuple[list[Outcome], str | None, bool]:
        """The settled prefix of ``batch``; why the rest must wait (None: it need not); whether a
        future failed (the producer is then re-created)."""
        outcomes: list[Outcome] = []
        future_failed = False
        for index, item in enumerate(batch):
            if index < len(futures):
                future = futures[index]
                if future.is_done and future.succeeded():
                    outcomes.append((item, None))
                    continue
                future_failed = True
                error = future.exception if future.is_done else None
            elif index == len(futures) and raised is not None:
                error = raised
            else:
                break  # not handed over yet: the next attempt sends it
            failure = self._verdict(item, error)
            if failure is None:
                return outcomes, describe(error), future_failed
            outcomes.append((item, failure))
        return outcomes, None, future_failed

    def _verdict(self, item: PendingSend, error: BaseException | None) -> str | None:
        """Why ``item`` fails for good after ``error``, or None to retry it (see ``failures``)."""
        kind = classify(error)
        if kind is Kind.PERMANENT:
            return describe(error)
        if kind is Kind.TRANSIENT:
            return None
        attempts = self._stuck[1] + 1 if self._stuck is not None and self._stuck[0] is item else 1
        self._stuck = (item, attempts)
        if attempts < self._max_attempts:
            return None
        self._stuck = None
        return f"{describe(error)} (after {attempts} attempts)"

    def _settle(self, outcomes: list[Outcome]) -> None:
        """Take settled records off the queue, wake their callers; log and report the failed ones."""
        failed = []
        with self._cond:
            for item, failure in outcomes:
                self._queue.discard(item)
                if item.settle(failure) and failure is not None:
                    failed.append(item)
            self.failed_count += len(failed)
        for item in failed:
            if item.failed != DROPPED:  # drops are logged by the queue, as warnings: they are allowed
                log.error(
                    "record can never be sent, given up: %s",
                    item.failed,
                    extra={
                        "client": self.client_id,
                        "message_id": item.message_id,
                        "topic": item.topic,
                        "size": item.size,
                    },
                )
            if self._on_failed is not None:
                try:
                    self._on_failed(item)
                except Exception:
                    log.exception("on_failed callback raised", extra={"client": self.client_id})

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
