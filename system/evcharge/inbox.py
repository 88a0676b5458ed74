"""The receiving side of the engine and the driver: a thread that polls, decodes, dedups and dispatches.

Central has its own loop (it needs the database transaction between poll and commit); the other
components only need "call this function for each new message addressed to me", which is this.
Delivery is at least once: offsets are committed after the handlers ran, and a message id seen
recently is skipped, so a redelivered record does not act twice.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable

from evcharge.config import KafkaSettings
from evcharge.kafka import ResilientConsumer
from evcharge.logs import bound
from evcharge.messages import InvalidMessage, Message, decode

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
    """Consume ``topics`` in a background thread and hand messages for ``wanted`` to ``handler``."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: list[str],
        group: str,
        client_id: str,
        handler: MessageHandler,
        wanted: Callable[[Message], bool] = lambda _m: True,
        consumer: ResilientConsumer | None = None,
    ) -> None:
        self.consumer = consumer or ResilientConsumer(
            kafka, [kafka.topic(t) for t in topics], kafka.group(group), client_id
        )
        self.handler = handler
        self.wanted = wanted
        self.seen = RecentIds()
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{client_id}-inbox", daemon=True)

    def start(self) -> Inbox:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)
        self.consumer.close()

    def _run(self) -> None:
        while not self.stopping.is_set():
            records = self.consumer.poll(0.2)
            for record in records:
                self.dispatch(record.value)
            if records:
                self.consumer.commit()

    def dispatch(self, raw: bytes | None) -> None:
        """Decode one record and run the handler; never raises (a bad record is logged and skipped)."""
        try:
            message = decode(raw)
        except InvalidMessage as exc:
            log.warning("ignoring undecodable record: %s", exc)
            return
        if not self.wanted(message) or not self.seen.add(message.message_id):
            return
        with bound(message_id=message.message_id, type=message.type, correlation_id=message.envelope.correlation_id):
            try:
                self.handler(message)
            except Exception:
                log.exception("handler failed")
