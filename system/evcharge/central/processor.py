"""From a raw Kafka record to a handled message: decode, dedup, savepoint, dead letter.

This is the "never crash, never change state on bad input" layer. Each record runs in its own
savepoint inside the batch transaction: if its handler rejects it (or fails in a way we did not
foresee), only that record's writes are undone, a dead letter is queued and the batch carries on.
The message id is recorded as processed either way, so a redelivered record is neither applied nor
dead-lettered twice.

Central's own replies can be dead letters too: ``undeliverable`` is the small record that stands for
a reply Kafka will never take (too large, refused by the broker), so the reply is not lost silently
and does not block the ones behind it (``service`` deletes its outbox row in the same transaction).
"""

from __future__ import annotations

import logging
from typing import Any

from evcharge.auth.gate import Gate
from evcharge.central.handlers import CentralConfig, Handlers, Outgoing, Rejected
from evcharge.central.store import Store
from evcharge.logs import bound
from evcharge.messages import DeadLetter, InvalidMessage, Message, Topics, decode, make
from evcharge.states import InvalidTransition

log = logging.getLogger("evcharge.central")


class Processor:
    """Applies records to the store through ``Handlers``; runs inside the caller's transaction."""

    def __init__(self, store: Store, config: CentralConfig, gate: Gate | None = None) -> None:
        self.store = store
        self.gate = gate
        self.config = config
        self.handlers = Handlers(store, config)
        self.duplicates = 0
        self.rejected = 0

    def process(
        self,
        raw: bytes | None,
        now: float,
        topic: str = "",
        partition: int | None = None,
        offset: int | None = None,
    ) -> list[Outgoing]:
        """Handle one record; returns the messages to send (replies or a dead letter)."""
        try:
            message = decode(raw)
        except InvalidMessage as exc:
            return [self._dead_letter(str(exc), raw, topic, partition, offset, None)]
        body = message.body
        with bound(
            message_id=message.message_id,
            type=message.type,
            correlation_id=message.envelope.correlation_id,
            cp_id=getattr(body, "cp_id", None),
            driver_id=getattr(body, "driver_id", None),
            session_id=getattr(body, "session_id", None),
            reservation_id=getattr(body, "reservation_id", None),
        ):
            # before the dedup: a forgery must never mark the real message's id as processed
            refusal = self.gate and self.gate.refusal(raw, message, f"{topic}:{partition}:{offset}")
            if refusal:
                return [self._dead_letter(f"refused: {refusal}", raw, topic, partition, offset, message)]
            if not self.store.mark_processed(message.message_id, now):
                self.duplicates += 1
                log.info("duplicate message ignored")
                return []
            try:
                with self.store.savepoint():
                    out = self.handlers.handle(message, now)
            except (Rejected, InvalidTransition) as exc:
                return [self._dead_letter(str(exc), raw, topic, partition, offset, message)]
            except Exception as exc:
                log.exception("handler failed; message dead-lettered")
                return [self._dead_letter(f"internal error: {exc!r}", raw, topic, partition, offset, message)]
            log.debug("handled", extra={"replies": len(out)})
            return out

    def _dead_letter(
        self,
        reason: str,
        raw: bytes | str | None,
        topic: str,
        partition: int | None,
        offset: int | None,
        cause: Message | None,
    ) -> Outgoing:
        self.rejected += 1
        log.warning("rejected input: %s", reason, extra={"topic": topic, "offset": offset})
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        letter = DeadLetter(reason=reason[:500], raw=text[:10_000], topic=topic, partition=partition, offset=offset)
        return _letter(letter, self.config.source, cause.message_id if cause else None)


UNDELIVERABLE_EXCERPT = 1000
"""Characters of an undeliverable reply kept in its dead letter: enough to see what it was."""


def undeliverable(
    topic: str, message_id: str, value: bytes, partition: int | None, failure: str, source: str
) -> Outgoing:
    """The dead letter of a reply Kafka will never take: why, its topic, its id (also the letter's
    ``causation_id``) and size, and the start of it. ``message_id`` and ``size`` are fields of their
    own where ``DeadLetter`` has them (they are in ``reason`` either way)."""
    reason = f"undeliverable reply {message_id} ({len(value)} bytes): {failure}"
    fields: dict[str, Any] = {"message_id": message_id, "size": len(value)}
    extra = {name: v for name, v in fields.items() if name in DeadLetter.model_fields}
    excerpt = value[:UNDELIVERABLE_EXCERPT].decode("utf-8", "replace")
    letter = DeadLetter(reason=reason[:500], raw=excerpt, topic=topic, partition=partition, **extra)
    return _letter(letter, source, message_id)


def _letter(letter: DeadLetter, source: str, causation_id: str | None) -> Outgoing:
    return Outgoing(Topics.DEAD_LETTER, None, make(letter, source, causation_id=causation_id))
