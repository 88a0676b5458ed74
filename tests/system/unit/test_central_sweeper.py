"""Central's sweeper: reservations expire on time while the consumer loop is stuck on Kafka, and a
sweeper that fails stops Central instead of leaving it serving without sweeps.

A real Central over a real database file, its ``run`` on a thread; only Kafka is a stand-in (the
consumer's poll blocks for as long as the test says, as kafka-python's does while a link resets).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from evcharge.central.handlers import CentralConfig
from evcharge.central.service import Central, LoopConfig
from evcharge.central.store import Store
from evcharge.messages import AuthorizationRequest, decode
from evcharge.states import CpState

from .fakes import FAST, wait_for
from .test_central_outbox import Consumer, ManualProducer, Record, record

DEADLINE = 20.0


class StuckConsumer(Consumer):
    """Gives its queued records once, then every later poll blocks until ``release`` is set."""

    def __init__(self, db: Path) -> None:
        super().__init__(db)
        self.stuck = threading.Event()
        self.release = threading.Event()

    def poll(self, timeout: float, max_records: int = 500) -> list[Record]:
        if self.queue:
            return super().poll(timeout, max_records)
        self.stuck.set()
        self.release.wait(DEADLINE)
        return []


def central(db: Path, consumer: Consumer, producer: ManualProducer) -> Central:
    consumer.topics = ["t.driver-requests"]  # type: ignore[attr-defined]
    store = Store(db)
    with store.transaction():
        store.register_cp("CP_001", CpState.AVAILABLE, True, 0.0)
    return Central(store, FAST, CentralConfig(reservation_ttl=0.3), LoopConfig(sweep_interval=0.05),
                   producer=producer, consumer=consumer)  # type: ignore[arg-type]


def test_a_reservation_expires_while_the_consumer_loop_waits_on_kafka(tmp_path: Path) -> None:
    consumer, producer = StuckConsumer(tmp_path / "c.db"), ManualProducer(auto_ack=True)
    c = central(tmp_path / "c.db", consumer, producer)
    consumer.queue = [record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id="CP_001"))]
    runner = threading.Thread(target=c.run, daemon=True)
    runner.start()
    try:
        wait_for(consumer.stuck.is_set, DEADLINE, "the request applied and the loop stuck in its next poll")
        wait_for(lambda: c.store.cp("CP_001").state == CpState.AVAILABLE,  # type: ignore[union-attr]
                 DEADLINE, "the reservation expired, the loop still stuck")
        def sent() -> list[str]:
            return [type(decode(item.value).body).__name__ for item in producer.sent]

        # the release is handed to the producer just after its transaction commits: wait, not look
        wait_for(lambda: "ReservationReleased" in sent(), DEADLINE, "the release sent, the loop still stuck")
        assert not consumer.release.is_set()
        assert sent()[0] == "AuthorizationResponse", sent()
    finally:
        c.stopping.set()
        consumer.release.set()
        runner.join(DEADLINE)
    assert not runner.is_alive()


def test_a_failing_sweeper_stops_central_with_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = Consumer(tmp_path / "c.db")
    c = central(tmp_path / "c.db", consumer, ManualProducer(auto_ack=True))

    def broken(*_: object) -> list[object]:
        raise OSError("disk I/O error")

    monkeypatch.setattr(c.processor.handlers, "sweep", broken)
    with pytest.raises(RuntimeError, match="sweeper failed") as failed:
        c.run()
    assert isinstance(failed.value.__cause__, OSError)
