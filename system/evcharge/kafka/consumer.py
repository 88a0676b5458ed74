"""The resilient consumer: a poll that never raises because Kafka is missing, and never spins.

``ResilientConsumer.poll`` creates the KafkaConsumer lazily and re-creates it after errors; with no
broker it returns an empty batch after the backoff instead of raising, so an owner's loop is just
"poll, handle, commit" and rides out outages without a line of reconnect logic of its own. This is
the half the seed got right (its listener re-created its consumer); here it shares the settings and
the bounded backoff with the producer.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import FencedInstanceIdError, KafkaError

from evcharge.config import KafkaSettings
from evcharge.kafka.settings import REQUEST_TIMEOUT_MS, Backoff, admin_config, consumer_config
from evcharge.topics import ensure_topics, wait_for_partitions

log = logging.getLogger("evcharge.kafka")

ConsumerFactory = Callable[[], Any]


def new_consumer(topics: list[str], config: dict[str, Any]) -> KafkaConsumer:
    """Create the topics if needed (see ``evcharge.topics``), then the consumer subscribed to them."""
    ensure_topics(admin_config(config), topics)
    consumer = KafkaConsumer(*topics, **config)
    try:
        wait_for_partitions(consumer, topics)
    except BaseException:
        consumer.close(autocommit=False)
        raise
    return consumer


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


HEARTBEAT_STALL = 5.0
"""Seconds without a heartbeat sent to the group coordinator, once heartbeats flowed, after which
the consumer is re-created (see ``ResilientConsumer._stalled``): half the session timeout, after
which the coordinator would have given up on a dynamic member anyway; heartbeats go every 1 s."""
JOIN_STALL = 10.0
"""Seconds a new consumer may take to send its first heartbeat before it is re-created too; doubled
after each such re-creation (up to ``JOIN_STALL_MAX``), so a slow but working join is not cut short
for ever."""
JOIN_STALL_MAX = 60.0
STALL_CHECK = 1.0
"""Seconds between two looks at the heartbeat age (kafka-python's metrics dict is not free)."""


def heartbeat_age(consumer: Any) -> float | None:
    """Seconds since the consumer last sent its group coordinator a heartbeat (None: not known)."""
    try:
        metrics = consumer.metrics() or {}
    except Exception:
        return None
    for group in metrics.values():
        age = group.get("last-heartbeat-seconds-ago") if isinstance(group, dict) else None
        if isinstance(age, int | float):
            return float(age)
    return None


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
        self._heartbeating = False
        self._checked_at = 0.0
        self._created_at = 0.0
        self._join_stall = JOIN_STALL

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
            if self._stalled(consumer):
                self._drop()
                return []
            _sleep_until(deadline)
        return records

    def _stalled(self, consumer: Any) -> bool:
        """Whether the consumer stopped heartbeating for ``HEARTBEAT_STALL`` s after it had been.

        Why: kafka-python 3.0.12 forgets a dead group coordinator only when its connection is
        refused. A coordinator behind a proxy that accepts and then drops each connection (here a
        Toxiproxy listener in front of a killed broker; in the field a load balancer) is tried every
        100 ms for ever: the consumer sent no heartbeat and fetched nothing for 33 s, and a driver
        missed Central's answer to its request (the 3-node leader-kill scenario, once). A fresh
        consumer asks the bootstrap servers for the coordinator again and finds the new one; its
        static member id takes its old place in the group without a rebalance. A fresh consumer
        made while the dead broker is still named coordinator (the controller moves it after the
        broker's session timeout) finds the same dead one and never heartbeats: one that has sent
        no heartbeat within ``JOIN_STALL`` s of its creation is re-created as well.
        """
        now = time.monotonic()
        if now - self._checked_at < STALL_CHECK:
            return False
        self._checked_at = now
        age = heartbeat_age(consumer)
        if age is None:
            return False
        if age < HEARTBEAT_STALL:
            self._heartbeating, self._join_stall = True, JOIN_STALL
            return False
        if not self._heartbeating:
            joining = now - self._created_at
            if joining < self._join_stall:
                return False  # still joining
            log.warning(
                "no heartbeat sent to the group coordinator %.1f s after joining began: re-creating the consumer",
                joining, extra={"client": self.client_id},
            )
            self._join_stall = min(JOIN_STALL_MAX, self._join_stall * 2)
            return True
        log.warning(
            "no heartbeat sent to the group coordinator for %.1f s: re-creating the consumer", age,
            extra={"client": self.client_id},
        )
        return True

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
        """The consumer, created now if it is due; None (after waiting out the backoff) if not."""
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
        self._created_at = time.monotonic()
        log.info("kafka consumer connected", extra={"client": self.client_id, "topics": self.topics})
        return self._consumer

    def _drop(self) -> None:
        """Forget the consumer; the next ``poll`` re-creates it once the backoff has passed."""
        consumer, self._consumer = self._consumer, None
        self._heartbeating = False
        self._retry_at = time.monotonic() + self._backoff.next_delay()
        if consumer is not None:
            with contextlib.suppress(Exception):
                consumer.close(autocommit=False)
