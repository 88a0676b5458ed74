"""The resilient Kafka clients: lazy creation, bounded backoff, in-order send queue, retry after failures."""

import time

from evcharge.kafka import Backoff
from evcharge.messages import Heartbeat, make

from .fakes import FakeBroker, fake_producer, wait_for


def beat(n: int):
    return make(Heartbeat(cp_id=f"CP_{n:03d}", engine_ok=True), "test")


def test_backoff_grows_and_is_bounded():
    backoff = Backoff(0.1, 1.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays[0] <= 0.12 and max(delays) <= 1.2 and delays[-1] >= 0.8
    backoff.reset()
    assert backoff.next_delay() <= 0.12


def test_messages_sent_while_kafka_is_away_go_out_in_order_when_it_returns():
    broker = FakeBroker(down=True)
    producer = fake_producer(broker)
    items = [producer.send("t.x", beat(i)) for i in range(20)]
    wait_for(lambda: producer.pending() == 20)
    assert broker.records == [] and not producer.connected
    broker.down = False
    assert producer.wait_delivered(items, timeout=5)
    assert [m.body.cp_id for m in broker.messages()] == [f"CP_{i:03d}" for i in range(20)]
    producer.close()


def test_a_failed_send_is_retried_from_the_first_undelivered_record():
    broker = FakeBroker(fail_next=1)
    producer = fake_producer(broker)
    items = [producer.send("t.x", beat(i)) for i in range(5)]
    assert producer.wait_delivered(items, timeout=5)
    ids = [m.body.cp_id for m in broker.messages()]
    assert ids[-5:] == [f"CP_{i:03d}" for i in range(5)]
    assert broker.constructed >= 2  # the producer was re-created after the failure
    producer.close()


def test_the_send_queue_is_bounded_and_drops_the_oldest():
    broker = FakeBroker(down=True)
    from evcharge.kafka import ResilientProducer

    from .fakes import FAST

    producer = ResilientProducer(FAST, "bounded", factory=broker.factory, max_pending=3)
    for i in range(5):
        producer.send("t.x", beat(i))
    broker.down = False
    wait_for(lambda: producer.pending() == 0)
    assert [m.body.cp_id for m in broker.messages()] == ["CP_002", "CP_003", "CP_004"]
    producer.close()


def test_a_record_for_a_given_partition_is_sent_to_it():
    broker = FakeBroker()
    producer = fake_producer(broker)
    from evcharge.kafka import PendingSend

    items = [PendingSend("t.x", None, b"{}", "m1", partition=2), PendingSend("t.x", b"k", b"{}", "m2")]
    producer.send_raw(items)
    assert producer.wait_delivered(items, timeout=5)
    assert broker.partitions == [2, None]
    producer.close()


def test_consumers_are_static_members_and_the_reconnect_cap_comes_from_the_settings():
    from dataclasses import replace

    from evcharge.kafka import consumer_config, static_member_id

    from .fakes import FAST

    config = consumer_config(replace(FAST, reconnect_backoff_max=0.02), "t.driver-D:1", "c", "earliest")
    assert config["group_instance_id"] == static_member_id("t.driver-D:1") == "t.driver-D_1"
    assert (config["reconnect_backoff_ms"], config["reconnect_backoff_max_ms"]) == (20, 20)
    assert consumer_config(FAST, "g", "c", "earliest")["reconnect_backoff_max_ms"] == 250


class EarlyConsumer:
    """A KafkaConsumer whose poll comes back at once (coordinator unknown), with ``records`` if any."""

    def __init__(self, records: list[object]) -> None:
        self.records = records
        self.polls = 0

    def poll(self, timeout_ms: int, max_records: int) -> dict[str, list[object]]:
        self.polls += 1
        return {"tp": self.records} if self.records else {}

    def assignment(self) -> set[object]:
        return set()


def test_an_empty_poll_that_returns_early_waits_out_its_timeout_and_records_do_not_wait():
    import time

    from evcharge.kafka import ResilientConsumer

    from .fakes import FAST

    empty = EarlyConsumer([])
    consumer = ResilientConsumer(FAST, ["t.x"], "g", "c", factory=lambda: empty)
    started = time.monotonic()
    while time.monotonic() - started < 0.5:
        assert consumer.poll(0.1) == []
    assert empty.polls <= 6  # not a spin: about one kafka poll per 0.1 s
    flowing = ResilientConsumer(FAST, ["t.x"], "g", "c", factory=lambda: EarlyConsumer(["r"]))
    started = time.monotonic()
    assert flowing.poll(1.0) == ["r"] and time.monotonic() - started < 0.5


class HeartbeatingConsumer(EarlyConsumer):
    """An idle consumer whose coordinator metrics say how long ago it last sent a heartbeat."""

    def __init__(self, ages: list[float]) -> None:
        super().__init__([])
        self.ages = ages
        self.closed = False

    def metrics(self) -> dict[str, dict[str, float]]:
        age = self.ages.pop(0) if len(self.ages) > 1 else self.ages[0]
        return {"consumer-fetch-manager-metrics": {"records-lag-max": 0.0},
                "consumer-coordinator-metrics": {"last-heartbeat-seconds-ago": age}}

    def close(self, autocommit: bool = True) -> None:
        self.closed = True


def test_a_consumer_that_stopped_heartbeating_is_re_created_one_that_never_started_is_not(monkeypatch):
    """kafka-python keeps retrying a coordinator that accepts and drops connections: once a consumer
    that was heartbeating has sent none for HEARTBEAT_STALL s, a fresh one looks the coordinator up."""
    from evcharge.kafka import ResilientConsumer
    from evcharge.kafka import consumer as module

    from .fakes import FAST

    monkeypatch.setattr(module, "STALL_CHECK", 0.0)
    made: list[HeartbeatingConsumer] = []

    def factory() -> HeartbeatingConsumer:
        made.append(HeartbeatingConsumer([0.4, 3.0, module.HEARTBEAT_STALL + 1]) if not made
                    else HeartbeatingConsumer([0.2]))
        return made[-1]

    consumer = ResilientConsumer(FAST, ["t.x"], "g", "c", factory=factory)
    assert consumer.poll(0.01) == [] and consumer.poll(0.01) == [] and consumer.connections == 1
    assert consumer.poll(0.01) == [] and made[0].closed, "stalled: dropped"
    deadline = time.monotonic() + 5
    while consumer.connections < 2 and time.monotonic() < deadline:
        consumer.poll(0.01)
    assert consumer.connections == 2 and not made[1].closed
    joining = ResilientConsumer(FAST, ["t.x"], "g", "c", factory=lambda: HeartbeatingConsumer([float("inf")]))
    for _ in range(3):
        joining.poll(0.01)
    assert joining.connections == 1, "a consumer still joining (no heartbeat yet) is left alone"


def test_a_consumer_that_never_heartbeats_is_re_created_after_the_join_stall_which_then_doubles(monkeypatch):
    """Re-created while the dead broker is still named coordinator, a consumer finds it again and never
    heartbeats: after JOIN_STALL s it is re-created too, and the next one is given twice as long."""
    from evcharge.kafka import ResilientConsumer
    from evcharge.kafka import consumer as module

    from .fakes import FAST

    monkeypatch.setattr(module, "STALL_CHECK", 0.0)
    monkeypatch.setattr(module, "JOIN_STALL", 0.2)
    consumer = ResilientConsumer(FAST, ["t.x"], "g", "c", factory=lambda: HeartbeatingConsumer([float("inf")]))
    started = time.monotonic()
    while consumer.connections < 2 and time.monotonic() - started < 5:
        consumer.poll(0.02)
    first = time.monotonic() - started
    assert consumer.connections == 2 and first >= 0.2
    while consumer.connections < 3 and time.monotonic() - started < 5:
        consumer.poll(0.02)
    assert consumer.connections == 3 and time.monotonic() - started - first >= 0.4, "the second wait is doubled"
