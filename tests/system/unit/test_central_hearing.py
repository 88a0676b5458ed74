"""The heard-up-to clock: a CP is disconnected for its monitor's silence, never for Central's deafness.

A one-partition ``monitor-events`` log is simulated in 0.5 s steps: the monitor appends heartbeats,
Central appends its ticks (when its link is up) and consumes the log in order (when it is up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from evcharge.central.handlers import CentralConfig
from evcharge.central.hearing import GAP, TICK_KEY, HeardClock
from evcharge.central.service import Central, LoopConfig
from evcharge.kafka import DROPPED, PendingSend
from evcharge.messages import Heartbeat, encode, make

from .fakes import FAST, FakeBroker, fake_producer, wait_for
from .helpers import CentralHarness

TOPIC = "t.monitor-events"
TIMEOUT = 4.0
STEP = 0.5


@dataclass
class Record:
    topic: str
    partition: int
    key: bytes | None
    value: bytes
    offset: int = 0


def heartbeat_record() -> Record:
    return Record(TOPIC, 0, b"CP_001", encode(make(Heartbeat(cp_id="CP_001", engine_ok=True), "monitor:CP_001")))


def tick_record(item: PendingSend) -> Record:
    assert item.partition is not None
    return Record(item.topic, item.partition, item.key, item.value)


@dataclass
class MonitorLog:
    """One partition of monitor-events, with Central consuming it from ``position``."""

    central: CentralHarness = field(default_factory=lambda: CentralHarness(heartbeat_timeout=TIMEOUT))
    hearing: HeardClock = field(default_factory=lambda: HeardClock(TOPIC, STEP))
    records: list[Record] = field(default_factory=list)
    unsent_ticks: list[PendingSend] = field(default_factory=list)
    position: int = 0
    disconnected_at: list[float] = field(default_factory=list)

    def step(self, t: float, monitor_up: bool, central_up: bool) -> None:
        self.central.now = t
        if monitor_up:
            self.records.append(heartbeat_record())
        self.unsent_ticks += self.hearing.ticks_due(t, [0])
        if central_up:
            for item in self.unsent_ticks:  # Central's producer delivers what waited
                self.records.append(tick_record(item))
                item.delivered.set()
            self.unsent_ticks = []
            for record in self.records[self.position :]:
                if not self.hearing.observe(record, t):
                    self.central.send_raw(record.value)
            self.position = len(self.records)
        self.central.sweep_heard(self.hearing.heard_up_to([0]))
        if self.central.state("CP_001") == "disconnected" and not self.disconnected_at:
            self.disconnected_at.append(t)


def run(monitor_up: Callable[[float], bool], central_up: Callable[[float], bool], until: float = 15.0) -> MonitorLog:
    log = MonitorLog()
    for i in range(int(until / STEP)):
        t = 1000.0 + i * STEP
        log.step(t, monitor_up(t - 1000.0), central_up(t - 1000.0))
    return log


def test_central_cut_off_longer_than_the_timeout_disconnects_no_cp():
    log = run(monitor_up=lambda t: True, central_up=lambda t: not 3.0 <= t < 9.0)
    assert log.disconnected_at == []


def test_the_wall_clock_rule_would_have_disconnected_it():
    """The bug this replaces: judged at Central's wall clock, the same cut marks the CP."""
    c = CentralHarness(heartbeat_timeout=TIMEOUT)
    c.register("CP_001")
    c.now += TIMEOUT + 1  # Central deaf: no heartbeat consumed, though the monitor kept sending
    c.sweep()
    assert c.state("CP_001") == "disconnected"


def test_a_silent_monitor_is_disconnected_after_the_timeout_and_not_before():
    log = run(monitor_up=lambda t: t < 2.0, central_up=lambda t: True)
    (when,) = log.disconnected_at
    assert 2.0 + TIMEOUT <= when - 1000.0 <= 2.0 + TIMEOUT + 2 * STEP


def test_a_monitor_that_died_while_central_was_cut_off_is_still_found():
    log = run(monitor_up=lambda t: t < 4.0, central_up=lambda t: not 3.0 <= t < 6.0)
    (when,) = log.disconnected_at
    assert when - 1000.0 <= 6.0 + TIMEOUT + 2 * STEP


def test_heard_up_to_is_the_oldest_partition_and_unknown_until_every_partition_ticked():
    hearing = HeardClock(TOPIC, STEP)
    ticks = hearing.ticks_due(1000.0, [0, 1])
    assert [(t.partition, t.key) for t in ticks] == [(0, TICK_KEY), (1, TICK_KEY)]
    assert hearing.observe(tick_record(ticks[0]), 2000.0)
    assert hearing.heard_up_to([0, 1]) is None and hearing.heard_up_to([]) is None
    assert hearing.observe(tick_record(ticks[1]), 2000.0)
    assert hearing.heard_up_to([0, 1]) == min(hearing.heard_up_to([0]), hearing.heard_up_to([1]))  # type: ignore[type-var]


def test_one_tick_in_flight_per_partition_and_none_before_the_interval():
    hearing = HeardClock(TOPIC, STEP)
    (first,) = hearing.ticks_due(1000.0, [0])
    assert hearing.ticks_due(1000.1, [0]) == []  # interval not over
    assert hearing.ticks_due(1001.0, [0]) == []  # the first is still undelivered
    first.delivered.set()
    assert len(hearing.ticks_due(1002.0, [0])) == 1


def test_a_tick_from_the_future_is_capped_and_other_records_are_not_ticks():
    hearing = HeardClock(TOPIC, STEP)
    (tick,) = hearing.ticks_due(1000.0, [0])
    assert hearing.observe(tick_record(tick), now=5.0)  # its stamp (the real time) is far after 5.0
    assert hearing.heard_up_to([0]) == 5.0
    assert not hearing.observe(heartbeat_record(), 5.0)
    assert not hearing.observe(Record(TOPIC, 0, TICK_KEY, b"not json"), 5.0)
    assert not hearing.observe(Record("t.other", 0, TICK_KEY, tick.value), 5.0)


class FakeConsumer:
    """What Central needs from ``ResilientConsumer``: records to hand out and an assignment."""

    def __init__(self, partitions: list[int]) -> None:
        self.queue: list[Record] = []
        self._partitions = partitions

    def poll(self, timeout: float, max_records: int = 500) -> list[Record]:
        records, self.queue = self.queue, []
        return records

    def partitions(self, topic: str) -> list[int]:
        return self._partitions if topic == TOPIC else []

    def commit(self, wait: bool = True) -> bool:
        return True


def test_central_ticks_every_assigned_partition_and_keeps_its_ticks_from_the_processor():
    broker = FakeBroker()
    consumer = FakeConsumer([0, 1])
    central = Central(
        CentralHarness().store,
        FAST,
        CentralConfig(),
        LoopConfig(tick_interval=0.01),
        producer=fake_producer(broker),
        consumer=consumer,  # type: ignore[arg-type]
    )
    central.step()  # the poll that learns the assignment
    central.sweep()  # the sweeper's turn: the ticks are due
    wait_for(lambda: len(broker.records) == 2)
    assert sorted(p for p in broker.partitions if p is not None) == [0, 1]
    consumer.queue = [Record(t, p, k, v) for (t, k, v), p in zip(broker.records, broker.partitions, strict=True)]
    central.step()
    assert central.hearing.heard_up_to([0, 1]) is not None
    assert central.processor.rejected == 0 and central.handled == 0
    central.producer.close()


def test_heard_since_starts_again_after_a_gap_in_the_ticks():
    """Stamps are capped at ``now``, so ``now`` sets them here."""
    hearing = HeardClock(TOPIC, STEP)
    assert hearing.heard_since([0]) is None

    def tick_at(t: float) -> None:
        (tick,) = hearing.ticks_due(t, [0])
        assert hearing.observe(tick_record(tick), now=t)
        tick.settle()

    for t in (100.0, 101.0, 101.0 + GAP - 0.5):
        tick_at(t)
    assert hearing.heard_since([0]) == 100.0  # no gap above GAP: heard all along
    tick_at(200.0)  # Central (or Kafka) was away
    assert hearing.heard_since([0]) == 200.0 and hearing.heard_up_to([0]) == 200.0


def test_ticks_are_droppable_and_a_dropped_one_holds_back_nothing():
    hearing = HeardClock(TOPIC, STEP)
    (first,) = hearing.ticks_due(1000.0, [0])
    assert first.droppable
    first.settle(DROPPED)  # the send queue was full
    assert len(hearing.ticks_due(1001.0, [0])) == 1
