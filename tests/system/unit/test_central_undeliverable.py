"""Replies Kafka will never take: dead-lettered, their outbox rows gone, the replies behind them sent.

A reply that cannot be sent (larger than the producer's limit, or refused by the broker for good)
used to be retried for ever at the head of the in-order send queue, and after a restart Central
stalled re-sending it from its outbox table. Real SQLite files throughout; Kafka is either the
hand-acknowledged ``ManualProducer`` or the real ``ResilientProducer`` in front of a scripted broker.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka.errors import MessageSizeTooLargeError, NotLeaderForPartitionError, TopicAuthorizationFailedError

from evcharge.central.service import Central
from evcharge.messages import AuthorizationRequest, CpListRequest, decode
from evcharge.states import CpState

from .fakes import wait_for
from .kafka_fakes import ScriptedBroker, containing, scripted_producer
from .test_central_outbox import ManualProducer, central, outbox_ids, record

pytestmark = pytest.mark.timeout(30)  # a stall here is the bug: fail, do not hang

CP_LIST = '"type":"cp_list"'
AUTH = "authorization_response"


def register_long_ids(c: Central, count: int) -> None:
    """CPs with 64-character ids, so that a CP list of them is large."""
    with c.store.transaction():
        for n in range(count):
            c.store.register_cp(f"CP_{n:061d}", CpState.AVAILABLE, True, 0.0)


def three_requests(c: Central) -> None:
    """An authorization, a CP list, another authorization: the CP list is the reply in the middle."""
    c.consumer.queue = [  # type: ignore[attr-defined]
        record(AuthorizationRequest(request_id="r1", driver_id="D1", cp_id=None)),
        record(CpListRequest(request_id="q", driver_id="D2")),
        record(AuthorizationRequest(request_id="r2", driver_id="D3", cp_id=None)),
    ]


def settled(c: Central) -> None:
    """Wait until the producer is done with every reply handed to it (delivered or failed)."""
    wait_for(lambda: all(item.done for _, item in c._unacked))


def next_batch(c: Central, driver: str = "D9") -> None:
    c.consumer.queue = [record(AuthorizationRequest(request_id="r9", driver_id=driver, cp_id=None))]  # type: ignore[attr-defined]
    c.step()


def types_of(values: list[bytes]) -> list[str]:
    return [decode(v).type for v in values]


def test_a_reply_too_large_to_send_is_never_stored_its_dead_letter_is(tmp_path):
    producer = ManualProducer(auto_ack=True)
    c, _ = central(tmp_path / "c.db", producer, max_request_size=3000)
    register_long_ids(c, 100)  # ~9 kB of CP list
    three_requests(c)
    c.step()
    assert types_of([i.value for i in producer.sent]) == [AUTH, "dead_letter", AUTH]
    letter = decode(producer.sent[1].value)
    assert letter.body.topic == "t.driver-events.D2" and "bytes" in letter.body.reason  # type: ignore[attr-defined]
    assert letter.envelope.causation_id is not None and letter.envelope.causation_id in letter.body.reason  # type: ignore[attr-defined]
    assert CP_LIST in letter.body.raw and len(producer.sent[1].value) < 3000  # the start of it, small  # type: ignore[attr-defined]
    assert "cp_list" not in types_of([row.value for row in c.store.outbox_pending()])
    assert c.undeliverable == 1


def test_a_reply_the_producer_gives_up_leaves_the_table_in_the_next_batch_as_a_dead_letter(tmp_path):
    db = tmp_path / "c.db"
    producer = ManualProducer()
    c, _ = central(db, producer)
    three_requests(c)
    c.step()
    refused = producer.sent[1]
    producer.fail(1)
    producer.ack()  # the others are acknowledged
    next_batch(c)
    rows = c.store.outbox_pending()
    assert refused.message_id not in [r.message_id for r in rows]
    assert types_of([r.value for r in rows]) == ["dead_letter", "authorization_response"]
    letter = decode(rows[0].value)
    assert letter.envelope.causation_id == refused.message_id
    assert [i.message_id for i in producer.sent[3:]] == [r.message_id for r in rows]  # sent, in that order


def test_with_the_real_producer_a_refused_reply_holds_back_nothing(tmp_path):
    broker = ScriptedBroker(refuse=containing(CP_LIST, lambda: MessageSizeTooLargeError("topic limit")))
    c, _ = central(tmp_path / "c.db", scripted_producer(broker))  # type: ignore[arg-type]
    register_long_ids(c, 3)
    three_requests(c)
    c.step()
    wait_for(lambda: broker.types()[:2] == ["authorization_response", "authorization_response"])
    settled(c)
    next_batch(c)  # if the sweep after the first batch did not already, this batch dead-letters it
    wait_for(lambda: len(broker.records) == 4)
    assert broker.types() == [AUTH, AUTH, "dead_letter", AUTH]
    refused = broker.messages()[2].envelope.causation_id
    assert broker.attempts[next(v for v in broker.attempts if CP_LIST.encode() in v)] == 1  # never retried
    assert refused not in outbox_ids(tmp_path / "c.db")
    c.producer.close()


def test_a_retriable_refusal_is_retried_in_order_and_nothing_is_dead_lettered(tmp_path):
    broker = ScriptedBroker(refuse=containing(CP_LIST, lambda: NotLeaderForPartitionError(), times=3))
    c, _ = central(tmp_path / "c.db", scripted_producer(broker))  # type: ignore[arg-type]
    three_requests(c)
    c.step()
    settled(c)
    delivered = broker.types()
    assert delivered[0] == "authorization_response" and delivered[-2:] == ["cp_list", "authorization_response"]
    next_batch(c)
    assert "dead_letter" not in broker.types() and c.undeliverable == 0
    c.producer.close()


def crashed_with_a_stuck_row(db: Path) -> None:
    """An earlier Central stored three replies, Kafka acknowledged none, and the process died."""
    c, _ = central(db, ManualProducer())
    three_requests(c)
    c.step()
    c.store.close()


@pytest.mark.parametrize("error", [MessageSizeTooLargeError, TopicAuthorizationFailedError])
def test_a_restart_does_not_stall_on_a_row_kafka_refuses_for_good(tmp_path, error):
    db = tmp_path / "c.db"
    crashed_with_a_stuck_row(db)
    broker = ScriptedBroker(refuse=containing(CP_LIST, error))
    restarted, _ = central(db, scripted_producer(broker))  # type: ignore[arg-type]
    restarted.resend_outbox()  # returns: the stuck row fails at once
    assert types_of([r.value for r in restarted.store.outbox_pending()]) == ["dead_letter"]
    wait_for(lambda: len(broker.records) == 3)
    assert broker.types() == ["authorization_response", "authorization_response", "dead_letter"]
    settled(restarted)
    next_batch(restarted)
    assert "dead_letter" not in types_of([r.value for r in restarted.store.outbox_pending()])
    restarted.producer.close()


def test_a_restart_does_not_stall_on_a_row_larger_than_the_producer_takes(tmp_path):
    """A row an older Central stored before replies were checked for size: over 1 MiB."""
    db = tmp_path / "c.db"
    c, _ = central(db, ManualProducer())
    with c.store.transaction():
        c.store.outbox_add("t.driver-events", "D1", b'{"huge": "' + b"x" * 2_000_000 + b'"}', "huge-one")
    c.store.close()
    broker = ScriptedBroker()
    restarted, _ = central(db, scripted_producer(broker))  # type: ignore[arg-type]
    restarted.resend_outbox()
    wait_for(lambda: len(broker.records) == 1)
    (letter,) = broker.messages()
    assert letter.type == "dead_letter" and letter.envelope.causation_id == "huge-one"
    assert "too large" in letter.body.reason and len(broker.records[0][2]) < 10_000  # type: ignore[attr-defined]
    assert [r.message_id for r in restarted.store.outbox_pending()] == [letter.message_id]
    assert outbox_ids(db) == [letter.message_id]
    restarted.producer.close()
