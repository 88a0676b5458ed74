"""Central's main loop: poll a batch, apply it in one transaction, send, then commit offsets.

The order is what makes a crash at any point safe:

1. ``poll`` up to ``max_records`` records (enable_auto_commit is off).
2. One SQLite transaction applies them all and writes every reply to the ``outbox`` table.
3. The outbox rows are sent and we wait until Kafka acknowledged each one.
4. Offsets are committed (asynchronously: a lost commit only means redelivery, which dedup absorbs;
   a synchronous commit on clean shutdown).

Killed between 2 and 3: the replies are still in the outbox table and are sent at the next start.
Killed between 3 and 4: the records are redelivered and skipped by ``message_id`` (the replies may
go out twice; every consumer dedups). Batching is also where the throughput comes from: one commit
and one producer flush per batch, not per message.

Sweeps (reservation TTL, monitor heartbeats) run between batches in the same thread, so SQLite
has a single writer. Heartbeat silence is measured on Central's "heard-up-to" clock, advanced by the
ticks Central publishes into ``monitor-events`` and consumes back (``hearing.py``), so a Central
restart or a Central-side network cut never marks a CP disconnected for heartbeats Central did not
hear yet; the ticks are filtered out here, before the processor.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from system.central.handlers import CentralConfig, Outgoing
from system.central.hearing import HeardClock
from system.central.processor import Processor
from system.central.store import Store
from system.config import KafkaSettings
from system.kafka_client import OutboxItem, ResilientConsumer, ResilientProducer
from system.messages import Topics

log = logging.getLogger("evcharge.central")


@dataclass(frozen=True)
class LoopConfig:
    max_records: int = 2000
    poll_timeout: float = 0.1
    sweep_interval: float = 0.5
    tick_interval: float = 0.5
    processed_retention: float = 24 * 3600.0


class Central:
    """Wires the store, the processor and the resilient Kafka clients together."""

    def __init__(
        self,
        store: Store,
        kafka: KafkaSettings,
        config: CentralConfig,
        loop: LoopConfig | None = None,
        producer: ResilientProducer | None = None,
        consumer: ResilientConsumer | None = None,
    ) -> None:
        self.store = store
        self.kafka = kafka
        self.loop = loop or LoopConfig()
        self.processor = Processor(store, config)
        self.producer = producer or ResilientProducer(kafka, "central")
        self.consumer = consumer or ResilientConsumer(
            kafka, [kafka.topic(t) for t in Topics.CENTRAL_INPUTS], kafka.group("central"), "central"
        )
        self.hearing = HeardClock(kafka.topic(Topics.MONITOR_EVENTS), self.loop.tick_interval, config.source)
        self.stopping = threading.Event()
        self._next_sweep = 0.0
        self.handled = 0

    def run(self) -> None:
        """Serve until ``stopping`` is set (SIGTERM/SIGINT in the CLI)."""
        log.info("central starting", extra={"db": self.store.path, "topics": self.consumer.topics})
        self._deliver_outbox()  # replies committed before a crash, never sent
        while not self.stopping.is_set():
            self.step()
        self.consumer.commit(wait=True)
        self.consumer.close()
        self.producer.close()
        log.info("central stopped", extra={"handled": self.handled})

    def step(self) -> None:
        """One iteration: a batch (maybe empty), then the sweeps if they are due."""
        records = self.consumer.poll(self.loop.poll_timeout, self.loop.max_records)
        if records:
            now = time.time()
            inputs = [record for record in records if not self.hearing.observe(record, now)]
            with self.store.transaction():
                for record in inputs:
                    self._queue(
                        self.processor.process(record.value, now, record.topic, record.partition, record.offset)
                    )
            self.handled += len(inputs)
            self._deliver_outbox()
            self.consumer.commit(wait=False)  # safe: a redelivered record is skipped by message_id
        self._sweep_if_due()

    def _sweep_if_due(self) -> None:
        now = time.time()
        partitions = self.consumer.partitions(self.hearing.topic)
        self.producer.send_raw(self.hearing.ticks_due(now, partitions))
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.loop.sweep_interval
        with self.store.transaction():
            self._queue(self.processor.handlers.sweep(now, self.hearing.heard_up_to(partitions)))
            self.store.prune_processed(now - self.loop.processed_retention)
        self._deliver_outbox()

    def _queue(self, outgoing: list[Outgoing]) -> None:
        """Write replies to the outbox table (inside the caller's transaction)."""
        for out in outgoing:
            self.store.outbox_add(
                self.kafka.topic(out.topic),
                out.key,
                out.message.envelope.model_dump_json().encode(),
                out.message.message_id,
            )

    def _deliver_outbox(self) -> None:
        """Send every outbox row and wait for Kafka's acks; then drop the rows."""
        rows = self.store.outbox_pending()
        if not rows:
            return
        items = [OutboxItem(r.topic, r.key.encode() if r.key else None, r.value, r.message_id) for r in rows]
        self.producer.send_raw(items)
        while not self.producer.wait_delivered(items, timeout=1.0):
            if self.stopping.is_set():
                return  # rows stay in the table; the next start sends them
            log.warning("waiting for kafka to accept central's replies", extra={"pending": self.producer.pending()})
        with self.store.transaction():
            self.store.outbox_delete_through(rows[-1].seq)
