"""The producer's in-memory send queue: one record (``PendingSend``) and its overflow policy.

Not every record is worth keeping through an outage. A heartbeat, a telemetry reading or a clock
tick is superseded by the next one, so these are *droppable*; a completion, a ticket, a session event
or a driver's request is not: losing one loses money or leaves a charge hanging. Hence the policy
(``SendQueue.add``), the one ``evcharge.kafka.producer`` documents:

- below ``max_pending`` records, everything is kept;
- at ``max_pending``, the oldest *droppable* record goes (it is settled as failed with ``DROPPED``,
  logged and counted in ``dropped``), and the new record is kept; if the new record is the only
  droppable one, it is the one that goes;
- if no record is droppable, the new one is kept beyond the bound and an error is logged (on the
  first record beyond it, then every ``OVER_BOUND_LOG_EVERY``): a record that must not be lost is
  never dropped, and droppable records never hold more than ``max_pending`` places.

The queue is not thread-safe on its own: ``ResilientProducer`` holds its lock around every call.
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("evcharge.kafka")

DROPPABLE_TYPES = frozenset({"heartbeat", "telemetry", "clock_tick"})
"""Message types superseded by the next of their kind: what ``ResilientProducer.send`` marks
droppable unless told otherwise."""

DROPPED = "dropped: send queue full"
"""The ``failed`` reason of a droppable record the policy dropped."""

OVER_BOUND_LOG_EVERY = 1000
"""Beyond the bound, an error is logged for the first record kept and then once per this many."""


@dataclass
class PendingSend:
    """One record in the send queue; ``delivered`` is set once Kafka acknowledged it.

    Callers keep the item to learn when it is safe to forget (Central deletes its outbox rows only
    after ``delivered``), which is why the item, not a future, is what ``send`` returns. A record
    that will never be sent (too large, refused by the broker for good, dropped by the policy above)
    gets ``failed`` = why, instead; either way ``settled`` is set last, so a caller waits on it.
    """

    topic: str
    key: bytes | None
    value: bytes
    message_id: str
    partition: int | None = None  # None: chosen by the key, as usual
    droppable: bool = False
    enqueued_at: float = field(default_factory=time.monotonic)
    delivered: threading.Event = field(default_factory=threading.Event)
    settled: threading.Event = field(default_factory=threading.Event)
    failed: str | None = None
    queued: bool = field(default=False, repr=False)  # in a SendQueue now (kept by SendQueue only)

    @property
    def size(self) -> int:
        """Key and value bytes (what the dead letter of a failed record reports)."""
        return len(self.key or b"") + len(self.value)

    @property
    def done(self) -> bool:
        """Delivered or failed for good: the producer will do nothing more with it."""
        return self.delivered.is_set() or self.failed is not None

    def settle(self, failure: str | None = None) -> bool:
        """Mark delivered (``failure`` None) or failed for good; False if it was settled already.

        Called under the producer's lock only, so a record dropped while in flight and acknowledged
        a moment later stays failed (it may still have reached Kafka: consumers dedup)."""
        if self.settled.is_set():
            return False
        if failure is None:
            self.delivered.set()
        else:
            self.failed = failure
        self.settled.set()
        return True


class SendQueue:
    """Records waiting for Kafka, in order; bounded for droppable records (see the module doc)."""

    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self._items: collections.deque[PendingSend] = collections.deque()
        self._droppable = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def head(self, count: int) -> list[PendingSend]:
        """The first ``count`` records, oldest first (what the sender tries next)."""
        return list(itertools.islice(self._items, count))

    def add(self, item: PendingSend) -> PendingSend | None:
        """Queue ``item``; returns the record the policy dropped to make room (not yet settled)."""
        victim = None
        if len(self._items) >= self.max_pending:
            victim = self._oldest_droppable() or (item if item.droppable else None)
            if victim is None:
                self._log_over_bound(item)
            else:
                self.dropped += 1
                log.warning(
                    "send queue full, dropping the oldest droppable record",
                    extra={"dropped": victim.message_id, "topic": victim.topic, "dropped_total": self.dropped},
                )
                if victim is item:
                    return victim
                self.discard(victim)
        self._items.append(item)
        item.queued = True
        self._droppable += item.droppable
        return victim

    def discard(self, item: PendingSend) -> None:
        """Take ``item`` out (a no-op if it is not queued); the head, usually, so O(1)."""
        if not item.queued:
            return
        if self._items[0] is item:
            self._items.popleft()
        else:
            index = next(i for i, queued in enumerate(self._items) if queued is item)
            del self._items[index]
        item.queued = False
        self._droppable -= item.droppable

    def _oldest_droppable(self) -> PendingSend | None:
        if not self._droppable:
            return None
        return next(item for item in self._items if item.droppable)

    def _log_over_bound(self, item: PendingSend) -> None:
        excess = len(self._items) - self.max_pending + 1
        if excess == 1 or excess % OVER_BOUND_LOG_EVERY == 0:
            log.error(
                "send queue full of records that must not be lost: keeping this one beyond the bound",
                extra={"message_id": item.message_id, "topic": item.topic, "beyond_bound": excess},
            )
