"""The engine's and the driver's inbox dead-letter what they reject, as Central does, and go on."""

from __future__ import annotations

import json
import time

import pytest

from evcharge.cp.engine import Engine, EngineConfig
from evcharge.driver.core import Driver, DriverConfig
from evcharge.inbox import Inbox
from evcharge.messages import Heartbeat, Message, StartSupply, encode, make

from .consumers import FakeConsumer, Record
from .fakes import FAST, FakeBroker, fake_producer, wait_for

NESTED = b'{"message_id": "nested-1", "type": "x", "payload": ' + b"[" * 5000 + b"]" * 5000 + b"}"


@pytest.fixture
def inbox_and_broker():
    broker = FakeBroker()
    handled: list[Message] = []
    inbox = Inbox(
        FAST,
        ["cp-commands"],
        "g",
        "engine:CP_001",
        handled.append,
        wanted=lambda m: getattr(m.body, "cp_id", None) == "CP_001",
        consumer=FakeConsumer(),  # type: ignore[arg-type]
        producer=fake_producer(broker),
        own_key="CP_001",
    )
    yield inbox, broker, handled
    inbox.producer.close(drain_timeout=0)  # type: ignore[union-attr]


def letters(broker: FakeBroker, count: int) -> list[Message]:
    wait_for(lambda: len(broker.messages("dead-letter")) >= count)
    time.sleep(0.05)  # and no more than that
    found = broker.messages("dead-letter")
    assert len(found) == count, [m.body for m in found]
    return found


def start_supply(cp_id: str = "CP_001", timestamp: float | None = None) -> bytes:
    raw = encode(make(StartSupply(cp_id=cp_id, session_id="s1", driver_id="D1", price_eur_kwh=0.3), "central"))
    if timestamp is None:
        return raw
    doc = json.loads(raw)
    return json.dumps({**doc, "timestamp": timestamp}).encode()


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (NESTED, "nested deeper than 32 levels"),
        (b"x" * 300_000, "record of 300000 bytes exceeds 262144"),
        (b"[1, 2, 3]", "not a JSON object but an array"),
        (start_supply().replace(b'"price_eur_kwh":0.3', b'"price_eur_kwh":"0.3"'), "payload.price_eur_kwh"),
        (start_supply().replace(b'"price_eur_kwh":0.3', b'"price_eur_kwh":Infinity'), "Infinity is not a finite"),
        (start_supply(timestamp=time.time() + 3600), "in the future"),
    ],
)
def test_a_rejected_record_becomes_a_dead_letter_naming_it(inbox_and_broker, raw, fragment):
    inbox, broker, handled = inbox_and_broker
    inbox.dispatch(raw, "t.cp-commands", 2, 41)
    (letter,) = letters(broker, 1)
    assert fragment in letter.body.reason
    assert (letter.body.topic, letter.body.partition, letter.body.offset) == ("t.cp-commands", 2, 41)
    assert letter.body.raw == raw[:10_000].decode("utf-8", "replace")
    assert letter.envelope.source == "engine:CP_001"
    assert handled == [] and inbox.rejected == 1


def test_the_inbox_goes_on_after_a_rejection(inbox_and_broker):
    inbox, _, handled = inbox_and_broker
    inbox.dispatch(NESTED, "t.cp-commands", 0, 1)
    inbox.dispatch(start_supply(), "t.cp-commands", 0, 2)
    assert [m.type for m in handled] == ["start_supply"]


def test_a_redelivered_rejected_record_is_dead_lettered_once(inbox_and_broker):
    inbox, broker, _ = inbox_and_broker
    inbox.dispatch(b"null", "t.cp-commands", 0, 5)
    inbox.dispatch(b"null", "t.cp-commands", 0, 5)
    letters(broker, 1)


def test_a_record_for_somebody_else_is_not_a_rejection(inbox_and_broker):
    inbox, broker, handled = inbox_and_broker
    inbox.dispatch(start_supply("CP_002"), "t.cp-commands", 0, 1)  # valid, another CP's
    inbox.dispatch(start_supply("CP_002", time.time() - 10**6), "t.cp-commands", 0, 2)  # stale, another CP's
    inbox.dispatch(b"null", "t.cp-commands", 0, 3, key=b"CP_002")  # undecodable, keyed for another CP
    assert inbox.rejected == 0 and handled == []
    inbox.dispatch(start_supply("CP_001", time.time() - 10**6), "t.cp-commands", 0, 4)  # stale, ours
    inbox.dispatch(b"null", "t.cp-commands", 0, 5, key=b"CP_001")  # undecodable, keyed for us
    inbox.dispatch(b"null", "t.cp-commands", 0, 6)  # undecodable, no key: whose it is nobody can tell
    assert [letter.body.offset for letter in letters(broker, 3)] == [4, 5, 6]


def test_a_decoder_bug_is_dead_lettered_not_raised(inbox_and_broker, monkeypatch):
    inbox, broker, _ = inbox_and_broker

    def broken(_raw: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("evcharge.inbox.decode", broken)
    inbox.dispatch(b"{}", "t.cp-commands", 0, 9)
    assert "decoder failed: RecursionError" in letters(broker, 1)[0].body.reason


def test_the_loop_dead_letters_records_it_polls_and_commits_past_them(inbox_and_broker):
    inbox, broker, handled = inbox_and_broker
    consumer = inbox.consumer
    consumer.put(Record(NESTED, offset=1), Record(start_supply(), offset=2))  # type: ignore[attr-defined]
    inbox.start()
    try:
        wait_for(lambda: len(handled) == 1 and consumer.commits >= 1)  # type: ignore[attr-defined]
        assert letters(broker, 1)[0].body.offset == 1
    finally:
        inbox.stop()


def test_the_engine_and_the_driver_dead_letter_through_their_own_producer():
    engine_broker, driver_broker = FakeBroker(), FakeBroker()
    engine = Engine(EngineConfig("CP_001", health_port=0), FAST, producer=fake_producer(engine_broker))
    driver = Driver(DriverConfig("D1"), FAST, producer=fake_producer(driver_broker))
    try:
        engine.inbox.dispatch(NESTED, "t.cp-commands", 0, 3)
        driver.inbox.dispatch(NESTED, "t.driver-events", 1, 4)
        driver.inbox.dispatch(encode(make(Heartbeat(cp_id="CP_001", engine_ok=True), "monitor")), "t.x", 0, 5)
        (for_engine,) = letters(engine_broker, 1)
        (for_driver,) = letters(driver_broker, 1)  # a heartbeat has no driver: not the driver's, not rejected
        assert for_engine.envelope.source == "engine:CP_001" and for_engine.body.offset == 3
        assert for_driver.envelope.source == "driver:D1" and for_driver.body.topic == "t.driver-events"
        assert engine_broker.records[0][0] == "t.dead-letter"
    finally:
        engine.health.close()
        engine.producer.close(drain_timeout=0)
        driver.producer.close(drain_timeout=0)
