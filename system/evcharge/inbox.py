"""The receiving side of the engine and the driver: a thread that polls, decodes, dedups and dispatches.

Central has its own loop (it needs the database transaction between poll and commit); the other
components only need "call this function for each new message addressed to me", which is this.
Delivery is at least once: offsets are committed after the handlers ran, and a message id seen
recently is skipped, so a redelivered record does not act twice.

A record that cannot be decoded (``wire.py``: too big, too deep, wrong types, not finite, out of
the timestamp window...) is rejected as Central rejects it: logged with the reason and written to
the dead-letter topic through the component's own producer, then the loop goes on. A record for
somebody else (another CP's command, another driver's answer) is not a rejection: it is skipped. The
loop itself runs supervised (``supervise.py``): it cannot die silently.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import Any

from evcharge.auth.gate import Gate
from evcharge.config import KafkaSettings
from evcharge.kafka import ResilientConsumer, ResilientProducer
from evcharge.logs import bound
from evcharge.messages import DeadLetter, InvalidMessage, Message, Topics, decode, make
from evcharge.supervise import Supervised
from evcharge.wire import TEXT_MAX, excerpt

log = logging.getLogger("evcharge.inbox")

MessageHandler = Callable[[Message], None]


class RecentIds:
    """A bounded set of recently seen message ids (oldest forgotten first)."""

    def __init__(self, size: int = 10_000) -> None:
        self._ids: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._size = size

    def add(self, message_id: str) -> bool:
        """Remember ``message_id``; False if it was already there."""
        if message_id in self._ids:
            return False
        self._ids[message_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class Inbox:
    """Consume ``topics`` in a supervised thread and hand messages for ``wanted`` to ``handler``.

    ``producer`` carries the dead letters (None: rejections are only logged). ``own_key`` is the key
    records for us carry (Central keys by CP or driver id): an undecodable record keyed for somebody
    else is theirs to reject, so a network of N engines writes one dead letter for it, not N.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: list[str],
        group: str,
        client_id: str,
        handler: MessageHandler,
        wanted: Callable[[Message], bool] = lambda _m: True,
        consumer: ResilientConsumer | None = None,
        producer: ResilientProducer | None = None,
        own_key: str | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.kafka = kafka
        self.consumer = consumer or ResilientConsumer(
            kafka, [kafka.topic(t) for t in topics], kafka.group(group), client_id
        )
        self.handler = handler
        self.wanted = wanted
        self.client_id = client_id
        self.producer = producer
        self.own_key = own_key.encode() if own_key else None
        self.gate = gate
        self.seen = RecentIds()
        self.rejected = 0
        self._rejected_at = RecentIds(1000)  # (topic, partition, offset) already dead-lettered
        self.stopping = threading.Event()
        self.loop = Supervised(f"{client_id}-inbox", self._run, self.stopping)

    @property
    def up(self) -> bool:
        return self.loop.up

    def start(self) -> Inbox:
        self.loop.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.loop.join(timeout=5)
        self.consumer.close()

    def _run(self) -> None:
        if self.loop.restarts:  # after a crash mid-batch: resume from the last commit, not past it
            self.consumer.close()
        uncommitted = False
        while not self.stopping.is_set():
            records = self.consumer.poll(0.2)
            for record in records:
                self.dispatch(record.value, record.topic, record.partition, record.offset, record.key)
            if records or uncommitted:  # a commit that failed (a fault) is retried, idle or not
                uncommitted = self.consumer.commit() is False

    def dispatch(
        self,
        raw: bytes | None,
        topic: str = "",
        partition: int | None = None,
        offset: int | None = None,
        key: bytes | None = None,
    ) -> None:
        """Decode one record and run the handler; never raises (a bad record is dead-lettered)."""
        try:
            message = decode(raw)
        except InvalidMessage as exc:
            self._reject(str(exc), raw, (topic, partition, offset), key, exc.message)
            return
        except Exception as exc:  # decode must not raise anything else; if it does, still go on
            log.exception("decoder failed")
            self._reject(f"decoder failed: {exc!r}", raw, (topic, partition, offset), key, None)
            return
        if not self.wanted(message):
            return
        if self.gate is not None:  # before the dedup: a forgery must not pre-empt the real message's id
            refusal = self.gate.refusal(raw, message, f"{topic}:{partition}:{offset}")
            if refusal is not None:
                self._reject(f"refused: {refusal}", raw, (topic, partition, offset), key, message)
                return
        if not self.seen.add(message.message_id):
            return
        with bound(message_id=message.message_id, type=message.type, correlation_id=message.envelope.correlation_id):
            try:
                self.handler(message)
            except Exception:
                log.exception("handler failed")

    def _reject(
        self, reason: str, raw: bytes | None, where: tuple[str, int | None, int | None], key: bytes | None, decoded: Any
    ) -> None:
        """Log and dead-letter a rejected record, unless it was for somebody else or is a redelivery."""
        if decoded is not None and not self.wanted(decoded):
            return
        if key is not None and self.own_key is not None and key != self.own_key:
            log.debug("undecodable record keyed for somebody else skipped: %s", reason)
            return
        topic, partition, offset = where
        if offset is not None and not self._rejected_at.add(f"{topic}:{partition}:{offset}"):
            return
        self.rejected += 1
        log.warning("rejected record: %s", reason, extra={"topic": topic, "partition": partition, "offset": offset})
        if self.producer is None:
            return
        try:  # a failure here would come back with the redelivered record: log it, never raise
            letter = DeadLetter(
                reason=reason[:TEXT_MAX], raw=excerpt(raw), topic=topic[:255], partition=partition, offset=offset
            )
            self.producer.send(self.kafka.topic(Topics.DEAD_LETTER), make(letter, self.client_id))
        except Exception:
            log.exception("could not write the dead letter")
