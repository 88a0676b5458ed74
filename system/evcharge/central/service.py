"""Central's main loop: poll a batch, apply it in one transaction, commit offsets, send the replies.

The order is what makes a crash at any point safe:

1. ``poll`` up to ``max_records`` records (enable_auto_commit is off).
2. One SQLite transaction applies them all and writes every reply to the ``outbox`` table. The same
   transaction deletes the outbox rows of earlier batches that Kafka has acknowledged by now.
3. The replies are handed to the producer, which sends them in order (``seq`` order) in the
   background; offsets are committed (asynchronously: a lost commit only means redelivery, which
   dedup absorbs; a synchronous commit on clean shutdown). The loop goes on with the next batch
   without waiting for the acknowledgements.

Why not waiting for the acks is as safe as waiting was: a reply leaves the ``outbox`` table only in
a transaction that starts after Kafka acknowledged it (step 2 of a later batch, or a sweep), and at
every start Central sends whatever rows are still there before it consumes anything. So a crash at
any point loses no reply: rows committed but not yet acknowledged are sent again at the next start.
Some may then go out twice (sent, acknowledged, not yet deleted), exactly as before when a crash
came between the acks and the offset commit; every consumer dedups by ``message_id``. Offsets are
still committed only after the transaction that applied the records and stored their replies, so a
record whose effects are lost is always redelivered. What waiting for the acks cost was a broker
round trip per batch during which Central did nothing; now that round trip overlaps the next batch.
The replies in flight are bounded (``LoopConfig.max_unacked``): beyond that, the loop waits for
Kafka as before, so an unreachable broker still stops Central from consuming ever more work.

A reply Kafka will never take must not stall all the others behind it, now or after a restart. So a
reply larger than the producer's ``max_request_size`` is never stored: a small dead letter about it
is (``processor.undeliverable``). One the producer gives up (``PendingSend.failed``: too large after
all, or refused by the broker for good, see ``evcharge.kafka.failures``) counts as settled like an
acknowledged one: the next transaction deletes its row and stores its dead letter instead. At a
start, rows left by an earlier run are re-sent the same way, so a stuck row fails at once and goes
too. A dead letter that cannot be delivered itself is only logged (no letters about letters).

Sweeps (reservation TTL, monitor heartbeats) run on a thread of their own, the sweeper, so no
Kafka stall holds them up: a consumer re-created while Central's link resets, or the loop waiting
for acks past ``max_unacked``, once kept a CP reserved seconds past its TTL. Both threads write
through one lock (``_writer``) held from a transaction's BEGIN to the hand-off of its replies to the
producer, so SQLite still has one writer at a time and the producer still gets the replies in
``seq`` order, which ``_forget_settled`` relies on. The sweeper never waits for Kafka (WAL
checkpoints run on a third thread but write no data: see ``checkpoint.py``).

Heartbeat silence is measured on Central's "heard-up-to" clock, advanced by the ticks Central
publishes into ``monitor-events`` and consumes back (``hearing.py``), so a Central restart or a
Central-side network cut never marks a CP disconnected for heartbeats Central did not hear yet (a
sweep during a stuck poll judges by the clock as far as it got); the ticks are filtered out here,
before the processor.

Failpoints (``evcharge.failpoints``, armed through the file named by ``EVCHARGE_FAILPOINTS``; unset
in production, where they cost nothing) let a harness freeze Central at an exact step of a
non-empty batch and SIGKILL it there: ``central.db-committed`` once the batch's transaction has
committed (its replies in the outbox table, none handed to the producer yet) and before its offsets
are committed, and
``central.offsets-committed`` right after the asynchronous offset commit was issued, before the
next poll. Sweeps and empty polls pass neither; a sweep waits on the writer lock while the loop is
held at ``central.db-committed``.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from evcharge.central.auth import CentralAuth
from evcharge.central.checkpoint import Checkpointer
from evcharge.central.handlers import CentralConfig, Outgoing
from evcharge.central.hearing import HeardClock
from evcharge.central.processor import Processor, undeliverable
from evcharge.central.store import Store
from evcharge.config import KafkaSettings
from evcharge.failpoints import failpoint
from evcharge.kafka import MAX_REQUEST_SIZE, PendingSend, ResilientConsumer, ResilientProducer, record_fits
from evcharge.messages import Topics
from evcharge.wire import DEDUP_RETENTION_S

log = logging.getLogger("evcharge.central")


@dataclass(frozen=True)
class LoopConfig:
    max_records: int = 2000
    poll_timeout: float = 0.1
    sweep_interval: float = 0.5
    tick_interval: float = 0.5
    processed_retention: float = DEDUP_RETENTION_S
    """How long ``processed`` keeps a message id: derived from the wire's timestamp window (max age +
    future skew + a margin, see ``wire.DEDUP_RETENTION_S``), because a redelivered record the window
    still accepts must find its id here or it would be applied twice."""
    history_retention: float = 24 * 3600.0
    """Finished reservations and closed sessions older than this are pruned (tickets are kept)."""
    max_unacked: int = 10_000
    """Replies sent but not yet acknowledged before the loop waits for Kafka (well under the
    producer's in-memory bound; and replies are not droppable, so none is ever dropped from it)."""
    max_request_size: int = MAX_REQUEST_SIZE
    """The producer's limit: a reply that would not fit is dead-lettered instead of stored."""


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
        auth: CentralAuth | None = None,
    ) -> None:
        self.store = store
        self.auth = auth
        self.kafka = kafka
        self.loop = loop or LoopConfig()
        self.processor = Processor(store, config, auth.gate if auth else None)
        self.producer = producer or ResilientProducer(kafka, "central", max_request_size=self.loop.max_request_size)
        self.consumer = consumer or ResilientConsumer(
            kafka, [kafka.topic(t) for t in Topics.CENTRAL_INPUTS], kafka.group("central"), "central"
        )
        self.hearing = HeardClock(kafka.topic(Topics.MONITOR_EVENTS), self.loop.tick_interval, config.source,
                                  (lambda raw: auth.sealer(Topics.MONITOR_EVENTS, None)(raw)) if auth else None,
                                  auth.gate if auth else None)
        self.stopping = threading.Event()
        self._next_sweep = 0.0
        self._writer = threading.Lock()  # BEGIN .. hand-off to the producer: one writer, replies in seq order
        self._partitions: list[int] = []  # hearing's partitions assigned to us, as of the last poll
        self._sweeper_failure: BaseException | None = None
        self._unacked: collections.deque[tuple[int, PendingSend]] = collections.deque()  # (seq, item), seq order
        self.handled = 0
        self.undeliverable = 0  # replies dead-lettered because Kafka would never take them

    def run(self) -> None:
        """Serve until ``stopping`` is set (SIGTERM/SIGINT in the CLI), or the sweeper fails."""
        log.info("central starting", extra={"db": self.store.path, "topics": self.consumer.topics})
        with Checkpointer(self.store):
            self.resend_outbox()  # replies committed before a crash (or a stop), maybe never sent
            sweeper = threading.Thread(target=self._sweep_until_stopped, name="central-sweeper", daemon=True)
            sweeper.start()
            try:
                while not self.stopping.is_set():
                    self.step()
            finally:
                self.stopping.set()
                sweeper.join()
        self.consumer.commit(wait=True)
        self.consumer.close()
        self.producer.close()
        with self.store.transaction():  # what did not make it stays for the next start, so do the letters
            self._queue(self._forget_settled())
        log.info("central stopped", extra={"handled": self.handled})
        if self._sweeper_failure is not None:
            raise RuntimeError("central's sweeper failed") from self._sweeper_failure

    def step(self) -> None:
        """One iteration of the consumer loop: poll a batch, apply it, commit its offsets.

        It may wait on Kafka (a consumer re-created while Central's link resets, replies waiting for
        acks); the sweeps do not wait with it. One that takes over ``SLOW_STEP`` s says which part
        took the time."""
        started = time.monotonic()
        records = self.consumer.poll(self.loop.poll_timeout, self.loop.max_records)
        self._partitions = self.consumer.partitions(self.hearing.topic)
        polled = time.monotonic()
        if records:
            now = time.time()
            with self._batch(committed="central.db-committed") as items:
                inputs = [record for record in records if not self.hearing.observe(record, now)]
                for record in inputs:
                    outgoing = self.processor.process(record.value, now, record.topic, record.partition, record.offset)
                    if outgoing:
                        items.extend(self._queue(outgoing))
            self.handled += len(inputs)
            self.consumer.commit(wait=False)  # safe: a redelivered record is skipped by message_id
            failpoint("central.offsets-committed")  # issued (async: the broker may not have it yet)
            self._wait_below(self.loop.max_unacked)
        if time.monotonic() - started > SLOW_STEP:
            log.warning("central loop slow", extra={
                "poll_s": round(polled - started, 3), "batch_s": round(time.monotonic() - polled, 3),
                "records": len(records)})

    def resend_outbox(self) -> None:
        """Send every row of the outbox table, wait for Kafka's acks, then delete them.

        Run at start, before anything is consumed: the rows are replies committed by an earlier
        run that were never acknowledged (or acknowledged but not yet deleted: sent twice, deduped).
        A row Kafka will never take fails at once and is replaced by its dead letter, sent here too."""
        rows = self.store.outbox_pending()
        if not rows:
            return
        log.info("sending replies left in the outbox", extra={"pending": len(rows)})
        self._send([(r.seq, PendingSend(r.topic, _key(r.key), r.value, r.message_id)) for r in rows])
        if self._wait_below(0):
            with self._batch():
                pass  # the transaction that forgets them (and stores the dead letters of failed ones)

    def sweep(self) -> None:
        """Send the hearing ticks that are due and, every ``sweep_interval``, run the sweeps (expire
        reservations, judge heartbeats, prune) in one transaction. Never waits for Kafka."""
        now = time.time()
        partitions = self._partitions
        with self._writer:
            self.producer.send_raw(self.hearing.ticks_due(now, partitions))
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.loop.sweep_interval
        started = time.monotonic()
        with self._batch() as items:
            locked = time.monotonic()
            now = time.time()  # as of the lock: a wait behind a large batch must not date the sweep back
            heard = self.hearing.heard_up_to(partitions), self.hearing.heard_since(partitions)
            items.extend(self._queue(self.processor.handlers.sweep(now, *heard)))
            self.store.prune_processed(now - self.loop.processed_retention)
            self.store.prune_history(now - self.loop.history_retention)
        if time.monotonic() - started > SLOW_STEP:
            log.warning("central sweep slow", extra={
                "writer_wait_s": round(locked - started, 3), "sweep_s": round(time.monotonic() - locked, 3)})

    def _sweep_until_stopped(self) -> None:
        """The sweeper thread: a sweep every ``SWEEPER_WAKE`` s (ticks and sweeps keep their own
        intervals). Should a sweep raise, Central stops: serving on without expiring reservations
        would leave CPs reserved forever."""
        try:
            while not self.stopping.is_set():
                self.sweep()
                self.stopping.wait(SWEEPER_WAKE)
        except BaseException as exc:
            log.exception("central sweeper failed; central stops")
            self._sweeper_failure = exc
            self.stopping.set()

    @contextlib.contextmanager
    def _batch(self, committed: str | None = None) -> Iterator[list[tuple[int, PendingSend]]]:
        """One transaction: first drop the outbox rows Kafka has settled (storing the dead letters of
        the failed ones), then the caller adds the replies it queued to the yielded list; they are
        handed to the producer only once the transaction has committed (a rollback sends nothing).

        ``committed`` names the failpoint between the commit and that hand-off: the instant a crash
        finds the effects and replies durable in the database and nothing of them sent yet (a
        failpoint after the hand-off raced the producer's thread, which had usually sent them)."""
        items: list[tuple[int, PendingSend]] = []
        with self._writer:
            with self.store.transaction():
                items.extend(self._queue(self._forget_settled()))
                yield items
            if committed is not None:
                failpoint(committed)  # effects and replies durable, none sent, offsets not committed
            self._send(items)

    def _queue(self, outgoing: list[Outgoing]) -> list[tuple[int, PendingSend]]:
        """Write replies to the outbox table (inside the caller's transaction); returns what to send
        once it commits, built from the very bytes stored (serialised once, never read back).

        A reply too large for the producer would never leave the table: its dead letter goes instead."""
        items = []
        for out in outgoing:
            topic, message_id = self.kafka.topic(out.topic), out.message.message_id
            value = out.message.envelope.model_dump_json().encode()
            if self.auth is not None:
                value = self.auth.sealer(out.topic, out.key)(value)
            if not record_fits(_key(out.key), value, self.loop.max_request_size):
                failure = f"larger than max_request_size ({self.loop.max_request_size} bytes)"
                items.extend(self._queue(self._dead_letter(topic, message_id, value, None, failure)))
                continue
            seq = self.store.outbox_add(topic, out.key, value, message_id)
            items.append((seq, PendingSend(topic, _key(out.key), value, message_id)))
        return items

    def _dead_letter(
        self, topic: str, message_id: str, value: bytes, partition: int | None, failure: str
    ) -> list[Outgoing]:
        """The dead letter standing for a reply Kafka will never take; none for a dead letter."""
        self.undeliverable += 1
        log.error(
            "reply cannot be delivered, dead-lettered: %s",
            failure,
            extra={"topic": topic, "message_id": message_id, "size": len(value)},
        )
        if topic == self.kafka.topic(Topics.DEAD_LETTER):
            return []
        return [undeliverable(topic, message_id, value, partition, failure, self.processor.config.source)]

    def _send(self, items: list[tuple[int, PendingSend]]) -> None:
        """Hand committed replies to the producer (call only after their transaction committed, with
        the writer lock still held: the next transaction's replies must come after these)."""
        if items:
            self._unacked.extend(items)
            self.producer.send_raw(item for _, item in items)

    def _forget_settled(self) -> list[Outgoing]:
        """Delete (inside the caller's transaction) the outbox rows Kafka has settled; returns the
        dead letters of the ones it will never take, for the caller to queue in the same transaction.

        The producer settles in order, so the settled replies (acknowledged, or failed for good) are a
        prefix of ``_unacked``; the rows up to the last of them go. Should the transaction roll back,
        the rows are still there and are only sent again at the next start (consumers dedup)."""
        last, letters = None, []
        while self._unacked and self._unacked[0][1].done:
            last, item = self._unacked.popleft()
            if item.failed is not None:
                letters += self._dead_letter(item.topic, item.message_id, item.value, item.partition, item.failed)
        if last is not None:
            self.store.outbox_delete_through(last)
        return letters

    def _wait_below(self, limit: int) -> bool:
        """Block until at most ``limit`` replies are unsettled; False if stopping first."""
        with self._writer:  # the sweeper appends to _unacked; the wait itself holds no lock
            excess = len(self._unacked) - limit
            if excess <= 0:
                return True
            oldest = [item for _, item in itertools.islice(self._unacked, excess)]
        while not self.producer.wait_settled(oldest, timeout=1.0):
            if self.stopping.is_set():
                return False  # rows stay in the table; the next start sends them
            log.warning("waiting for kafka to accept central's replies", extra={"pending": self.producer.pending()})
        return True


SLOW_STEP = 1.0
"""Seconds past which one loop iteration, or one sweep, is logged with its parts."""
SWEEPER_WAKE = 0.1
"""How often the sweeper looks whether ticks or sweeps are due (each has its own interval)."""


def _key(key: str | None) -> bytes | None:
    return key.encode() if key else None
