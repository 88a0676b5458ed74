"""Message faults and the harness's record I/O on a real broker: what is written, where, and who read it."""

from __future__ import annotations

import json

import pytest

from chaos.faults import FaultContext, FaultError, FaultSpecError
from chaos.faults.base import applied
from chaos.infra import kafka_admin, records
from chaos.infra.endpoints import KafkaAccess
from chaos.infra.topology import HARNESS_ROLE
from tests import kafka_clients as clients

pytestmark = pytest.mark.integration

SAMPLE = {"message_id": "m-1", "type": "reading", "timestamp": 1.5, "payload": {"id": "s1", "ok": True, "v": 3}}


@pytest.fixture
def access(infra) -> KafkaAccess:
    return infra.endpoints.harness_access()


@pytest.fixture
def topic(infra, topic_prefix) -> str:
    name = f"{topic_prefix}readings"
    clients.create_topic(infra.endpoints.bootstrap(HARNESS_ROLE), name, partitions=2)
    return name


def test_records_are_written_to_every_partition_and_read_back(access, topic) -> None:
    written = records.write(access, topic, [b"one", b"two"])
    assert sorted((r.partition, r.value) for r in written) == [(0, b"one"), (0, b"two"), (1, b"one"), (1, b"two")]
    read = records.read_all(access, topic)
    def where(found: list[records.Record]) -> list[tuple[int, int, bytes | None]]:
        return sorted((r.partition, r.offset, r.value) for r in found)

    assert where(read) == where(written)


def test_an_injection_records_where_each_record_went_and_what_is_wrong_with_it(infra, access, topic, topic_prefix):
    records.write(access, topic, [json.dumps(SAMPLE).encode()], partitions=[0], injected=False)
    ctx = FaultContext(infra, topic_prefix=topic_prefix)
    fault = ctx.make_fault("inject-wrong-types", "readings")
    with applied(fault):
        pass
    injected = fault.evidence()["injected"]
    notes = {entry["note"] for entry in injected}
    assert "payload.ok: True -> 'true'" in notes and "payload.v: 3 -> '3'" in notes and "timestamp: nan" in notes
    assert {entry["partition"] for entry in injected} == {0, 1} and all(e["expect"] == "dead-letter" for e in injected)
    stored = {(r.partition, r.offset): r.value for r in records.read_all(access, topic)}
    first = injected[0]
    document = json.loads(stored[(first["partition"], first["offset"])])
    assert document["message_id"] == 12345, "the first variant types message_id as a number"


def test_a_consumer_group_is_past_the_records_only_once_it_committed_them(access, topic, topic_prefix) -> None:
    written = records.write(access, topic, [b"x"])
    group = f"{topic_prefix}reader"
    consumer = clients.consumer(access.bootstrap, topic, group=group)
    try:
        assert records.committed_past(access, written, topic_prefix) == {}, "a group that never committed"
        seen = 0
        for _ in range(50):
            seen += sum(len(batch) for batch in consumer.poll(timeout_ms=200).values())
            if seen >= len(written):
                break
        consumer.commit()
        assert records.committed_past(access, written, topic_prefix) == {group: True}
        committed, ends = kafka_admin.positions(access.bootstrap, topic_prefix, [topic], access.plain)
        assert committed[group] == ends == {f"{topic}[0]": 1, f"{topic}[1]": 1}, "caught up: at the ends"
        later = records.write(access, topic, [b"y"])
        assert records.committed_past(access, later, topic_prefix) == {group: False}
        committed, ends = kafka_admin.positions(access.bootstrap, topic_prefix, [topic], access.plain)
        assert committed[group] == {f"{topic}[0]": 1, f"{topic}[1]": 1} and set(ends.values()) == {2}
    finally:
        consumer.close()


def test_a_kind_that_needs_a_real_record_says_how_to_give_one(infra, topic, topic_prefix) -> None:
    ctx = FaultContext(infra, topic_prefix=topic_prefix)
    with pytest.raises(FaultError, match=r"no JSON record on .*readings .* within 0\.5 s; .* give params\.sample"):
        ctx.make_fault("inject-duplicate", "readings", {"sample_wait": 0.5}).apply()
    with pytest.raises(FaultSpecError, match="the target must be a topic name"):
        ctx.make_fault("inject-nested", "not a topic!")


def test_a_resent_record_is_the_latest_one_under_a_new_id_and_time(infra, access, topic, topic_prefix) -> None:
    records.write(access, topic, [json.dumps(SAMPLE).encode()], partitions=[0], injected=False)
    fault = FaultContext(infra, topic_prefix=topic_prefix).make_fault("inject-resent", "readings")
    with applied(fault):
        pass
    first = fault.evidence()["injected"][0]  # one per partition
    assert first["expect"] == "ignored" and first["note"].startswith("the latest record resent as ")
    stored = {(r.partition, r.offset): json.loads(r.value or b"{}") for r in records.read_all(access, topic)}
    resent = stored[(first["partition"], first["offset"])]
    assert resent["message_id"] != SAMPLE["message_id"] and resent["timestamp"] > SAMPLE["timestamp"]
    assert resent["payload"] == SAMPLE["payload"] and resent["type"] == SAMPLE["type"], "the same message, new envelope"
    wrong = FaultContext(infra, topic_prefix=topic_prefix).make_fault("inject-resent", "readings", {"id_field": "nope"})
    with pytest.raises(FaultError, match="no field 'nope'"), applied(wrong):
        pass


def test_a_sample_is_never_one_of_the_harness_s_own_records(infra, access, topic, topic_prefix) -> None:
    records.write(access, topic, [json.dumps(SAMPLE).encode()], partitions=[0], injected=False)
    ctx = FaultContext(infra, topic_prefix=topic_prefix)
    with applied(ctx.make_fault("inject-wrong-types", "readings")):
        pass  # the newest records on the topic are now the harness's mutated copies
    assert any(r.injected for r in records.read_all(access, topic)), "the harness marks what it writes"
    resent = ctx.make_fault("inject-resent", "readings")
    with applied(resent):
        pass
    stored = {(r.partition, r.offset): json.loads(r.value or b"{}") for r in records.read_all(access, topic)}
    first = resent.evidence()["injected"][0]
    assert stored[(first["partition"], first["offset"])]["payload"] == SAMPLE["payload"], "the system's record"


def test_the_admin_client_of_the_harness_connects(access) -> None:
    from chaos.infra.records import admin_client

    admin = admin_client(access)
    try:
        assert isinstance(admin.list_topics(), list)
    finally:
        admin.close()
