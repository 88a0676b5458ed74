"""The harness's own records on the system's topics: write them, read a topic back, see what groups consumed.

Message faults write hostile records into the topics a system consumes, and the checks then ask
what became of them: did a dead-letter record name each one, did every consumer group move past it.
All of it goes through the harness's own Kafka role (``harness``), so a fault on another role's links
never hides the evidence, and never through the system's clients.

kafka-python is imported here only, and only when a message fault or an evidence read runs (after
``require_kafka_python`` says what is missing): the rest of the harness speaks Kafka's wire protocol
itself (``kafka_protocol``, ``kafka_admin``) for readiness, groups and fresh topics.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chaos.infra.endpoints import KafkaAccess
from chaos.infra.kafka_client import require_kafka_python

FAST = {
    "reconnect_backoff_ms": 50,
    "reconnect_backoff_max_ms": 1000,
    "retry_backoff_ms": 100,
    "request_timeout_ms": 5000,
    "bootstrap_timeout_ms": 5000,
}
"""Fail fast: a harness call that cannot reach Kafka should say so in seconds, not in 30."""


@dataclass(frozen=True)
class Record:
    """One record as the broker stored it."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    timestamp_ms: int | None = None
    injected: bool = False
    """Written by the harness (it carries the ``INJECTED`` header), not by the system."""


INJECTED = "evchaos-injected"
"""The Kafka header on every record the harness writes: a later fault never takes one of its own
records for the system's (a sample to mutate or resend), and the facts never count one. Headers are
invisible to a consumer that reads only keys and values."""


class RecordsError(RuntimeError):
    """Writing or reading records failed; the message names the topic and the cause."""


@contextlib.contextmanager
def _client(kind: str, access: KafkaAccess, **settings: Any) -> Iterator[Any]:
    require_kafka_python("writing and reading records (message faults, facts, dead letters)")
    import kafka  # lazily: only message faults and evidence reads need a Kafka client

    factory = {"producer": kafka.KafkaProducer, "consumer": kafka.KafkaConsumer}[kind]
    client = factory(bootstrap_servers=access.bootstrap, **FAST, **access.settings, **settings)
    try:
        yield client
    finally:
        client.close(timeout=2) if kind == "producer" else client.close()


def json_object(value: bytes | None) -> dict[str, Any] | None:
    """A record's value as a JSON object, or None; never raises, since a topic may hold anything,
    the harness's own injected records included (nested past the parser's recursion limit)."""
    try:
        document = json.loads(value or b"")
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def partitions_of(access: KafkaAccess, topic: str, timeout: float = 10.0) -> list[int]:
    """The topic's partitions (waiting for its metadata up to ``timeout``); empty if it has none yet."""
    with _client("consumer", access) as consumer:
        return _partitions(consumer, topic, timeout)


def _partitions(consumer: Any, topic: str, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        found = consumer.partitions_for_topic(topic)
        if found or time.monotonic() > deadline:
            return sorted(found or ())
        time.sleep(0.1)


def write(
    access: KafkaAccess, topic: str, values: Iterable[bytes], partitions: Iterable[int] | None = None,
    max_request_size: int = 2 * 1024 * 1024, timeout: float = 15.0, injected: bool = True,
) -> list[Record]:
    """Write every value to every partition given (all of the topic's by default); wait for each ack.

    Every partition, because a consumer may read only its share: a record meant to reach every
    consumer of a topic must be in each partition. Returns the records as stored (their offsets).
    Each carries the ``INJECTED`` header unless ``injected`` is False (a test playing the system).
    """
    targets = list(partitions) if partitions is not None else partitions_of(access, topic)
    if not targets:
        raise RecordsError(f"topic {topic!r} has no partitions yet: nothing consumes it, or it was never created")
    settings = {"acks": "all", "linger_ms": 0, "enable_idempotence": False, "max_request_size": max_request_size}
    written = []
    try:
        with _client("producer", access, **settings) as producer:
            headers = [(INJECTED, b"1")] if injected else []
            futures = [(value, producer.send(topic, value, partition=p, headers=headers))
                       for value in values for p in targets]
            for value, future in futures:
                meta = future.get(timeout=timeout)
                written.append(Record(topic, meta.partition, meta.offset, value, injected=injected))
    except Exception as exc:
        raise RecordsError(f"writing to {topic!r} failed: {type(exc).__name__}: {exc}") from exc
    return written


def read_all(access: KafkaAccess, topic: str | Iterable[str], timeout: float = 10.0) -> list[Record]:
    """Every record of ``topic`` (or of each topic given) from the beginning to its end offsets now,
    with no consumer group; several topics are read by one consumer (one connection, one wait). A
    name ending in ``*`` stands for every existing topic that starts with the rest."""
    require_kafka_python("writing and reading records (message faults, facts, dead letters)")
    import kafka

    topics = [topic] if isinstance(topic, str) else list(topic)
    with _client("consumer", access, enable_auto_commit=False) as consumer:
        existing = consumer.topics()  # a topic nobody wrote to does not exist: no need to wait for it
        topics = [name for pattern in topics for name in (
            sorted(t for t in existing if t.startswith(pattern[:-1])) if pattern.endswith("*") else [pattern])]
        assigned = [kafka.TopicPartition(name, p) for name in topics if name in existing
                    for p in _partitions(consumer, name, 3.0)]
        if not assigned:
            return []
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends = consumer.end_offsets(assigned)
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in assigned):
            if time.monotonic() > deadline:
                raise RecordsError(f"reading {', '.join(topics)} to the end did not finish within {timeout:g} s")
            for tp, batch in consumer.poll(timeout_ms=200).items():
                records.extend(
                    Record(tp.topic, tp.partition, r.offset, r.value, r.key, r.timestamp,
                           any(name == INJECTED for name, _ in (r.headers or ()))) for r in batch
                    if r.offset < ends[tp]
                )
        return records


ADMIN_ATTEMPTS = 3
"""Bootstrap attempts of an admin client (5 s each): a broker busy with a run's reconnecting clients
was seen to miss the first on a loaded machine, and a fault failed on it."""


def admin_client(access: KafkaAccess) -> Any:
    """A kafka-python admin client with the harness's short timeouts (close it when done)."""
    require_kafka_python("the harness's admin calls through kafka-python (rewinds, what groups committed)")
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaTimeoutError

    for attempt in range(1, ADMIN_ATTEMPTS + 1):
        try:
            return KafkaAdminClient(bootstrap_servers=access.bootstrap, **FAST, **access.settings)
        except KafkaTimeoutError:  # "Unable to bootstrap from ..."
            if attempt == ADMIN_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def group_offsets(access: KafkaAccess, group_prefix: str) -> dict[str, dict[Any, Any]]:
    """Group -> ``TopicPartition`` -> committed ``OffsetAndMetadata``, for every consumer group whose
    name starts with ``group_prefix`` (a run's groups carry its topic prefix)."""
    admin = admin_client(access)
    try:
        groups = sorted(
            name for g in admin.list_groups()
            if (name := str(g.get("group_id") or g.get("group") or "")) and name.startswith(group_prefix)
        )
        return dict(admin.list_group_offsets(groups)) if groups else {}
    finally:
        admin.close()


def committed_past(access: KafkaAccess, records: Iterable[Record], group_prefix: str = "") -> dict[str, bool]:
    """Group -> whether it has committed past every one of ``records`` on the topics it consumes.

    Only groups whose name starts with ``group_prefix`` and that have committed on the records'
    topics count: a group that never read the topic is not a consumer of it.
    """
    require_kafka_python("what consumer groups committed (after a message fault)")
    import kafka

    wanted = list(records)
    result: dict[str, bool] = {}
    for group, offsets in group_offsets(access, group_prefix).items():
        mine = [r for r in wanted if any(tp.topic == r.topic for tp in offsets)]
        if not mine:
            continue
        result[group] = all(
            (meta := offsets.get(kafka.TopicPartition(r.topic, r.partition))) is not None and meta.offset > r.offset
            for r in mine
        )
    return result
