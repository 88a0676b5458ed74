"""Central's "heard-up-to" clock: a monitor counts as silent only for as long as Central was listening.

Measuring heartbeat silence on Central's wall clock blames the monitors for Central's own deafness:
after Central's link was cut for 3 s, the sweeper found every heartbeat > 4 s old and marked every
CP ``disconnected``, although the heartbeats were sitting in Kafka, consumed 0.1 s later.

So Central stamps its own progress into the heartbeat stream. Every ``interval`` it publishes a
``clock_tick`` stamped T (its wall clock) into each partition of ``monitor-events`` it consumes, and
consumes the ticks like everything else. A partition is ordered, so once Central has consumed a tick
stamped T, it has consumed every heartbeat appended to that partition before T (each one recorded
with the wall time Central consumed it, which is after it was appended). Hence the rule: with H the
oldest tick stamp consumed across those partitions, a CP whose last heartbeat was consumed before
``H - timeout`` has had no heartbeat appended in ``(H - timeout, H)``: its monitor really was silent.
While Central is cut off, H stops; when it hears again, the backlog (older heartbeats first, then
the newer ticks) is consumed in order, so nothing is swept on stale knowledge. It holds across a
restart as well: the store keeps the consumption times, and any tick consumed later still bounds
what was consumed before it. Both times are Central's wall clock; no monitor clock is trusted.

``heard_since`` is when Central's hearing last resumed: the stamp of the first tick after a gap of
more than ``GAP`` between two ticks of a partition (or after a start). The telemetry timeout counts
only from there: after a long Kafka outage the engines' queued telemetry may land a moment after
Central's first new tick, and a session must not be closed for a silence that was Kafka's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from evcharge.auth.gate import Gate
from evcharge.kafka import PendingSend
from evcharge.messages import ClockTick, InvalidMessage, decode, encode, make

log = logging.getLogger("evcharge.central")

TICK_KEY = b"#central-tick"
"""The key of every tick: ``#`` is not allowed in a CP id, so no heartbeat can carry it."""

STUCK_TICK = 10.0
"""A tick still undelivered after this many seconds no longer holds back the next one; below it, one
tick in flight per partition keeps a long outage from piling ticks up. A tick the producer gave up
(dropped from a full send queue: ticks are droppable, the next one supersedes it) holds back nothing."""


GAP = 5.0
"""Seconds between two consecutive ticks of a partition beyond which Central counts as having been
away (ticks go out every ``interval``, 0.5 s; a short stall or a 3 s link cut stays below it)."""


class HeardClock:
    """Publishes ticks into ``topic`` and tracks, per partition, the newest tick stamp consumed."""

    def __init__(
        self, topic: str, interval: float, source: str = "central", seal: Callable[[bytes], bytes] | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.topic = topic
        self._seal, self._gate = seal, gate  # with authentication on: a tick is believed only if Central sealed it
        self.interval = interval
        self.source = source
        self._heard: dict[int, float] = {}
        self._since: dict[int, float] = {}
        self._in_flight: dict[int, tuple[float, PendingSend]] = {}
        self._next_tick = 0.0

    def ticks_due(self, now: float, partitions: list[int]) -> list[PendingSend]:
        """The ticks to publish now: one per partition every ``interval``, one in flight at most."""
        if now < self._next_tick:
            return []
        self._next_tick = now + self.interval
        ticks = []
        for partition in partitions:
            sent = self._in_flight.get(partition)
            if sent is not None and not sent[1].done and now - sent[0] < STUCK_TICK:
                continue
            message = make(ClockTick(partition=partition), self.source)
            value = encode(message) if self._seal is None else self._seal(encode(message))
            item = PendingSend(self.topic, TICK_KEY, value, message.message_id, partition=partition, droppable=True)
            self._in_flight[partition] = (now, item)
            ticks.append(item)
        return ticks

    def observe(self, record: Any, now: float) -> bool:
        """True if ``record`` is one of Central's ticks (the clock advances); False for anything else.

        The stamp is capped at ``now``: a forged tick from the future must not make every CP stale.
        """
        if record.topic != self.topic or record.key != TICK_KEY:
            return False
        try:
            message = decode(record.value)
        except InvalidMessage:
            return False  # the processor dead-letters it
        if not isinstance(message.body, ClockTick):
            return False
        if self._gate is not None and not self._gate.proven(record.value, message):
            return False  # the processor refuses it, and the audit log says so
        stamp = min(message.envelope.timestamp, now)
        previous = self._heard.get(record.partition)
        if previous is None or stamp - previous > GAP:
            self._since[record.partition] = stamp
        self._heard[record.partition] = stamp if previous is None else max(stamp, previous)
        return True

    def heard_up_to(self, partitions: list[int]) -> float | None:
        """Every heartbeat appended to ``partitions`` before this time has been consumed; None if unknown."""
        if not partitions or any(p not in self._heard for p in partitions):
            return None
        return min(self._heard[p] for p in partitions)

    def heard_since(self, partitions: list[int]) -> float | None:
        """Central has heard every partition without a gap since this time; None if unknown."""
        if not partitions or any(p not in self._since for p in partitions):
            return None
        return max(self._since[p] for p in partitions)
