"""Records that can never be sent fail instead of blocking the send queue; Kafka's own failures are
still retried, in order, for as long as it takes."""

from __future__ import annotations

from kafka.errors import (
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
)

from evcharge.kafka import PendingSend
from evcharge.kafka.failures import Kind, classify
from evcharge.messages import ChargingCompleted, Heartbeat, encode, make

from .kafka_fakes import ScriptedBroker, containing, scripted_producer


def completion(n: int, padding: int = 0) -> PendingSend:
    """A completion record; ``padding`` bytes of JSON whitespace make it as large as a test needs."""
    message = make(ChargingCompleted(cp_id=f"CP_{n:03d}", session_id=f"S{n}", kwh=1.0, duration_s=1.0), "test")
    return PendingSend("t.cp-events", None, encode(message) + b" " * padding, message.message_id)


def cp_ids(broker: ScriptedBroker) -> list[str]:
    return [m.body.cp_id for m in broker.messages()]  # type: ignore[attr-defined]


def test_a_record_over_max_request_size_fails_as_it_is_queued_and_the_rest_flows():
    failed: list[PendingSend] = []
    producer = scripted_producer(ScriptedBroker(), max_request_size=4000, on_failed=failed.append)
    items = [completion(0), completion(1, padding=5000), completion(2)]
    producer.send_raw(items)
    assert producer.wait_settled(items, timeout=5)
    assert [i.delivered.is_set() for i in items] == [True, False, True]
    assert items[1].failed is not None and "too large" in items[1].failed
    assert failed == [items[1]] and producer.failed_count == 1 and producer.pending() == 0
    producer.close()


def test_kafka_pythons_own_size_check_fails_the_record_at_once_without_blocking():
    """The producer's precheck is off (a huge limit); kafka-python's ``send`` raises instead."""
    broker = ScriptedBroker(max_request_size=4000)
    producer = scripted_producer(broker, max_request_size=10**9)
    items = [completion(0), completion(1, padding=5000), completion(2), completion(3)]
    producer.send_raw(items)
    assert producer.wait_settled(items, timeout=5)
    assert cp_ids(broker) == ["CP_000", "CP_002", "CP_003"]
    assert items[1].failed is not None and items[1].failed.startswith("MessageSizeTooLargeError")
    assert broker.attempts[items[1].value] == 1  # no retry: it can never be sent
    assert not producer.wait_delivered([items[1]], timeout=5)  # returns at once: it failed
    producer.close()


def test_a_non_retriable_broker_answer_fails_the_record_at_once_and_the_rest_flows():
    for error in (lambda: MessageSizeTooLargeError("broker"), lambda: TopicAuthorizationFailedError("t")):
        broker = ScriptedBroker(refuse=containing("CP_001", error))
        producer = scripted_producer(broker)
        items = [completion(n) for n in range(4)]
        producer.send_raw(items)
        assert producer.wait_settled(items, timeout=5)
        assert cp_ids(broker) == ["CP_000", "CP_002", "CP_003"]
        assert items[1].failed is not None and not items[1].delivered.is_set()
        assert broker.attempts[items[1].value] == 1
        producer.close()


def test_a_retriable_error_is_retried_in_order_and_never_given_up():
    broker = ScriptedBroker(refuse=containing("CP_001", lambda: NotLeaderForPartitionError(), times=8))
    producer = scripted_producer(broker, max_attempts=2)  # transient errors do not count as attempts
    items = [completion(n) for n in range(4)]
    producer.send_raw(items)
    assert producer.wait_delivered(items, timeout=10)
    ids = cp_ids(broker)
    assert ids[-3:] == ["CP_001", "CP_002", "CP_003"]  # the ones behind waited for it: order is kept
    assert ids.index("CP_001") > ids.index("CP_000") and producer.failed_count == 0
    assert broker.attempts[items[1].value] == 9
    producer.close()


def test_a_timeout_raised_by_send_is_retried_as_before():
    broker = ScriptedBroker(raise_on_send=containing("CP_000", lambda: KafkaTimeoutError("metadata"), times=3))
    producer = scripted_producer(broker)
    items = [completion(n) for n in range(3)]
    producer.send_raw(items)
    assert producer.wait_delivered(items, timeout=10)
    assert cp_ids(broker) == ["CP_000", "CP_001", "CP_002"] and producer.failed_count == 0
    producer.close()


def test_an_error_we_cannot_place_is_retried_a_bounded_number_of_times():
    broker = ScriptedBroker(raise_on_send=containing("CP_001", lambda: TypeError("odd record")))
    producer = scripted_producer(broker, max_attempts=3)
    items = [completion(n) for n in range(3)]
    producer.send_raw(items)
    assert producer.wait_settled(items, timeout=10)
    assert cp_ids(broker) == ["CP_000", "CP_002"]
    assert items[1].failed is not None and "after 3 attempts" in items[1].failed
    assert broker.attempts[items[1].value] == 3
    producer.close()


def test_failures_are_sorted_into_the_records_own_and_kafkas():
    assert classify(MessageSizeTooLargeError()) is Kind.PERMANENT
    assert classify(TopicAuthorizationFailedError()) is Kind.PERMANENT
    assert classify(KafkaTimeoutError()) is Kind.TRANSIENT
    assert classify(None) is Kind.TRANSIENT  # no answer in time
    assert classify(OSError()) is Kind.TRANSIENT
    assert classify(ValueError()) is Kind.SUSPECT


def test_send_marks_heartbeats_droppable_and_completions_not():
    producer = scripted_producer(ScriptedBroker())
    beat = producer.send("t.x", make(Heartbeat(cp_id="CP_001", engine_ok=True), "test"))
    done = producer.send("t.x", make(ChargingCompleted(cp_id="CP_001", session_id="S", kwh=1, duration_s=1), "t"))
    forced = producer.send("t.x", make(Heartbeat(cp_id="CP_002", engine_ok=True), "test"), droppable=False)
    assert (beat.droppable, done.droppable, forced.droppable) == (True, False, False)
    producer.close()
