"""The send queue's bound: droppable records make room, a record that must not be lost never does."""

from __future__ import annotations

from evcharge.kafka import DROPPED, PendingSend, ResilientProducer
from evcharge.kafka.sendqueue import SendQueue
from evcharge.messages import ChargingCompleted, Heartbeat, Telemetry, make

from .fakes import FAST, FakeBroker, wait_for


def item(name: str, droppable: bool) -> PendingSend:
    return PendingSend("t.x", None, b"{}", name, droppable=droppable)


def names(queue: SendQueue) -> list[str]:
    return [i.message_id for i in queue.head(len(queue))]


def test_when_full_the_oldest_droppable_record_goes():
    queue = SendQueue(3)
    for record in (item("c1", False), item("h1", True), item("h2", True)):
        assert queue.add(record) is None
    dropped = queue.add(item("c2", False))
    assert dropped is not None and dropped.message_id == "h1"
    assert names(queue) == ["c1", "h2", "c2"] and queue.dropped == 1


def test_a_new_droppable_record_goes_itself_when_nothing_else_may():
    queue = SendQueue(2)
    queue.add(item("c1", False))
    queue.add(item("c2", False))
    newest = item("h1", True)
    assert queue.add(newest) is newest
    assert names(queue) == ["c1", "c2"] and not newest.queued


def test_a_record_that_must_not_be_lost_is_kept_beyond_the_bound(caplog):
    queue = SendQueue(2)
    for n in range(5):
        assert queue.add(item(f"c{n}", False)) is None
    assert names(queue) == [f"c{n}" for n in range(5)] and queue.dropped == 0
    assert any("beyond the bound" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_droppable_records_never_hold_more_than_the_bound():
    queue = SendQueue(10)
    for n in range(1000):
        queue.add(item(f"c{n}", False) if n % 3 == 0 else item(f"h{n}", True))
        droppable = sum(i.droppable for i in queue.head(len(queue)))
        assert droppable <= 10
    assert all(f"c{n}" in names(queue) for n in range(0, 1000, 3))  # every non-droppable one is there


def test_under_an_outage_completions_survive_and_heartbeats_make_room():
    broker = FakeBroker(down=True)
    producer = ResilientProducer(FAST, "bounded", factory=broker.factory, max_pending=4)
    kept = []
    for n in range(10):
        producer.send("t.x", make(Heartbeat(cp_id=f"CP_{n:03d}", engine_ok=True), "test"))
        reading = Telemetry(cp_id="CP_001", session_id="S1", kw=22, kwh=float(n), eur=0.0)
        producer.send("t.x", make(reading, "test"))
        done = ChargingCompleted(cp_id=f"CP_{n:03d}", session_id=f"S{n}", kwh=1, duration_s=1)
        kept.append(producer.send("t.x", make(done, "test")))
    broker.down = False
    assert producer.wait_delivered(kept, timeout=5)
    wait_for(lambda: producer.pending() == 0)
    sent = broker.messages()
    assert [m.body.session_id for m in sent if m.type == "charging_completed"] == [f"S{n}" for n in range(10)]
    assert len([m for m in sent if m.type != "charging_completed"]) <= 4
    assert producer.dropped_count == 20 - len([m for m in sent if m.type != "charging_completed"])
    producer.close()


def test_a_dropped_record_is_settled_as_failed_so_no_one_waits_for_it():
    broker = FakeBroker(down=True)
    producer = ResilientProducer(FAST, "bounded", factory=broker.factory, max_pending=1)
    first = producer.send("t.x", make(Heartbeat(cp_id="CP_001", engine_ok=True), "test"))
    producer.send("t.x", make(Heartbeat(cp_id="CP_002", engine_ok=True), "test"))
    assert first.settled.is_set() and first.failed == DROPPED
    assert not producer.wait_delivered([first], timeout=5)  # at once, not after 5 s
    producer.close(drain_timeout=0)
