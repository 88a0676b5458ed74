"""Central's loop and its transactional outbox: what is sent, committed and deleted, and when.

Kafka is replaced by two small stand-ins whose acknowledgements the test gives by hand, so every
step is deterministic: a "crash" is simply dropping a Central without any cleanup and starting
another one on the same database file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from evcharge.central.handlers import CentralConfig
from evcharge.central.service import Central, LoopConfig
from evcharge.central.store import Store
from evcharge.kafka import PendingSend
from evcharge.messages import AuthorizationRequest, StopRequest, Strict, decode, encode, make
from evcharge.states import CpState

from .fakes import FAST


@dataclass
class Record:
    topic: str
    value: bytes
    partition: int = 0
    offset: int = 0
    key: bytes | None = None


def record(body: Strict) -> Record:
    return Record("t.driver-requests", encode(make(body, "test")))


class ManualProducer:
    """Records what Central hands over; nothing is acknowledged until the test says so."""

    def __init__(self, auto_ack: bool = False, ack_on_wait: int | None = None) -> None:
        self.sent: list[PendingSend] = []
        self.auto_ack = auto_ack
        self.ack_on_wait = ack_on_wait  # acknowledge everything at this call of wait_delivered
        self.waits = 0

    def send_raw(self, items: Iterable[PendingSend]) -> None:
        for item in items:
            self.sent.append(item)
            if self.auto_ack:
                item.settle()

    def ack(self, count: int | None = None) -> None:
        for item in self.sent[:count]:
            item.settle()

    def fail(self, index: int, reason: str = "MessageSizeTooLargeError: fake") -> None:
        """The producer gives up ``sent[index]`` for good."""
        self.sent[index].settle(reason)

    def wait_settled(self, items: Iterable[PendingSend], timeout: float | None = None) -> bool:
        self.waits += 1
        if self.waits == self.ack_on_wait:
            self.ack()
        return all(item.done for item in items)

    def pending(self) -> int:
        return sum(not item.done for item in self.sent)

    def close(self, drain_timeout: float = 5.0) -> None:
        pass


class Consumer:
    """Hands out queued records; on each offset commit, notes what another connection can read."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.queue: list[Record] = []
        self.commits: list[list[str]] = []  # message ids in the committed outbox, per commit

    def poll(self, timeout: float, max_records: int = 500) -> list[Record]:
        records, self.queue = self.queue, []
        return records

    def partitions(self, topic: str) -> list[int]:
        return []

    def commit(self, wait: bool = True) -> bool:
        self.commits.append(outbox_ids(self.db))
        return True

    def close(self) -> None:
        pass


def outbox_ids(db: Path) -> list[str]:
    """The outbox as another connection sees it: only what was committed."""
    other = Store(db)
    try:
        return [row.message_id for row in other.outbox_pending()]
    finally:
        other.close()


def central(db: Path, producer: ManualProducer, **loop: float) -> tuple[Central, Consumer]:
    store = Store(db)
    if not store.cps():
        with store.transaction():
            store.register_cp("CP_001", CpState.AVAILABLE, True, 0.0)
    consumer = Consumer(db)
    config = LoopConfig(sweep_interval=3600, **loop)  # type: ignore[arg-type]
    return Central(store, FAST, CentralConfig(), config, producer=producer, consumer=consumer), consumer  # type: ignore[arg-type]


def sent_ids(producer: ManualProducer) -> list[str]:
    return [item.message_id for item in producer.sent]


def test_offsets_are_committed_after_the_transaction_that_stored_the_reply(tmp_path):
    producer = ManualProducer()
    c, consumer = central(tmp_path / "c.db", producer)
    consumer.queue = [record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None))]
    c.step()
    (reply,) = producer.sent
    assert decode(reply.value).body.authorized
    assert consumer.commits == [[reply.message_id]]  # committed, and visible to others, before the offsets


def test_a_reply_leaves_the_table_only_in_a_transaction_after_its_ack(tmp_path):
    producer = ManualProducer()
    c, consumer = central(tmp_path / "c.db", producer)
    consumer.queue = [record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None))]
    c.step()
    first = producer.sent[0].message_id
    assert outbox_ids(tmp_path / "c.db") == [first]  # not acknowledged: it stays
    producer.ack()
    assert outbox_ids(tmp_path / "c.db") == [first]  # acknowledged, but no transaction since
    consumer.queue = [record(AuthorizationRequest(request_id="r2", driver_id="D2", cp_id=None))]
    c.step()
    assert outbox_ids(tmp_path / "c.db") == [producer.sent[1].message_id]


def test_replies_are_handed_over_in_outbox_order(tmp_path):
    producer = ManualProducer(auto_ack=True)
    c, consumer = central(tmp_path / "c.db", producer)
    consumer.queue = [record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None))]
    c.step()
    reservation = decode(producer.sent[0].value).body.reservation_id
    consumer.queue = [
        record(StopRequest(driver_id="D1", reservation_id=reservation)),
        record(AuthorizationRequest(request_id="r2", driver_id="D2", cp_id=None)),
    ]
    c.step()
    assert [decode(item.value).type for item in producer.sent] == [
        "authorization_response",
        "reservation_released",
        "authorization_response",
    ]
    assert decode(producer.sent[2].value).body.authorized  # the CP was released first
    assert outbox_ids(tmp_path / "c.db") == sent_ids(producer)[1:]  # the first went with the 2nd batch


def test_a_crash_before_the_ack_sends_the_reply_at_the_next_start(tmp_path):
    db = tmp_path / "c.db"
    lost = ManualProducer()  # Kafka never acknowledges, then the process dies
    c, consumer = central(db, lost)
    consumer.queue = [record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None))]
    c.step()
    c.store.close()  # the crash: no cleanup of any kind

    again = ManualProducer(auto_ack=True)
    restarted, _ = central(db, again)
    restarted.resend_outbox()
    assert [(i.message_id, i.value, i.topic, i.key) for i in again.sent] == [
        (i.message_id, i.value, i.topic, i.key) for i in lost.sent
    ]
    assert outbox_ids(db) == []


def test_a_crash_after_the_ack_but_before_the_delete_resends_the_same_message_id(tmp_path):
    """The reply may go out twice; with the same message_id, so every consumer drops the copy."""
    db = tmp_path / "c.db"
    first = ManualProducer()
    c, consumer = central(db, first)
    consumer.queue = [record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None))]
    c.step()
    first.ack()
    assert outbox_ids(db) == sent_ids(first)  # acknowledged, not yet deleted
    c.store.close()

    again = ManualProducer(auto_ack=True)
    restarted, _ = central(db, again)
    restarted.resend_outbox()
    assert sent_ids(again) == sent_ids(first)
    assert outbox_ids(db) == []


def test_a_batch_that_fails_sends_nothing_and_commits_no_offset(tmp_path, monkeypatch):
    producer = ManualProducer(auto_ack=True)
    c, consumer = central(tmp_path / "c.db", producer)
    real = c.processor.process
    calls = []

    def second_one_fails(*args: object) -> object:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(c.processor, "process", second_one_fails)
    consumer.queue = [
        record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None)),
        record(AuthorizationRequest(request_id="r2", driver_id="D2", cp_id=None)),
    ]
    with pytest.raises(RuntimeError):
        c.step()
    assert producer.sent == [] and consumer.commits == []
    assert outbox_ids(tmp_path / "c.db") == []
    assert c.store.cp("CP_001").state.value == "available"  # type: ignore[union-attr]


def test_too_many_unacknowledged_replies_make_the_loop_wait_for_kafka(tmp_path):
    producer = ManualProducer(ack_on_wait=3)  # Kafka comes back while Central waits
    c, consumer = central(tmp_path / "c.db", producer, max_unacked=0)
    consumer.queue = [record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None))]
    c.step()
    assert producer.waits == 3
    assert all(item.delivered.is_set() for item in producer.sent)


def test_a_stop_while_waiting_for_kafka_keeps_the_replies_for_the_next_start(tmp_path):
    producer = ManualProducer()
    c, consumer = central(tmp_path / "c.db", producer, max_unacked=0)
    c.stopping.set()
    consumer.queue = [record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None))]
    c.step()  # returns although nothing was acknowledged
    assert producer.waits == 1
    assert outbox_ids(tmp_path / "c.db") == sent_ids(producer)
