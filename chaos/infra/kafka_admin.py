"""The few admin calls the harness makes without a Kafka client library: groups and topics.

A system under test brings its own client (kafka-python 2.x, confluent-kafka, Java...), and the
harness must not force another on its virtualenv just to tell a consumer is listening or to give a
scenario fresh topics. These calls use only the wire protocol's stable, non-flexible versions that
Kafka 4 still serves (KIP-896 removed the older ones): FindCoordinator v1, DescribeGroups v1,
ListGroups v1, OffsetFetch v3, ListOffsets v1, CreateTopics v2 and DeleteTopics v1, each over one
socket, logged in as the harness when the cluster is secured.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from chaos.infra.kafka_protocol import Reader, array, call, connect, connect_any, fetch_metadata, frame, string

LIST_OFFSETS = (2, 1)
OFFSET_FETCH = (9, 3)
FIND_COORDINATOR = (10, 1)
LIST_GROUPS = (16, 1)
DESCRIBE_GROUPS = (15, 1)
CREATE_TOPICS = (19, 2)
DELETE_TOPICS = (20, 1)
NONE, UNKNOWN_TOPIC, TOPIC_EXISTS = 0, 3, 36
RETRIABLE = {7, 14, 15, 16, 41}
"""Request timed out, coordinator loading, coordinator not available, not the coordinator, not the controller."""


class KafkaAdminError(RuntimeError):
    """The cluster refused an admin call for good (the message names the call and the error code)."""


@dataclass(frozen=True)
class GroupMember:
    member_id: str
    client_id: str
    assignment: dict[str, tuple[int, ...]]
    """Topic -> partitions, from the consumer protocol's assignment (empty until the group is synced)."""


@dataclass(frozen=True)
class GroupState:
    group: str
    state: str
    """``Stable``, ``PreparingRebalance``, ``CompletingRebalance``, ``Empty``, ``Dead``."""
    members: tuple[GroupMember, ...]

    @property
    def listening(self) -> bool:
        """Whether some member has partitions assigned in a settled group: it is consuming."""
        return self.state == "Stable" and any(any(m.assignment.values()) for m in self.members)


def _assignment(raw: bytes) -> dict[str, tuple[int, ...]]:
    """The consumer protocol's member assignment: version, [topic, [partition]], user data."""
    if len(raw) < 6:
        return {}
    reader = Reader(raw)
    reader.take(">h")  # version
    return {reader.string() or "": reader.int_array() for _ in range(reader.take(">i"))}


def coordinator(bootstrap: str, group: str, plain: tuple[str, str] | None = None, timeout: float = 2.0) -> str:
    """The ``host:port`` of ``group``'s coordinator, as the listener we asked through advertises it."""
    with connect_any(bootstrap, timeout, plain) as sock:
        answer = call(sock, frame(FIND_COORDINATOR, 1, string(group) + struct.pack(">b", 0)))
    answer.take(">i")  # throttle
    error, message = answer.take(">h"), answer.string()
    if error != NONE:
        raise OSError(f"no coordinator for group {group!r} yet (error {error}: {message})")  # polled: OSError
    answer.take(">i")  # node id
    host, port = answer.string(), answer.take(">i")
    return f"{host}:{port}"


def describe_group(bootstrap: str, group: str, plain: tuple[str, str] | None = None,
                   timeout: float = 2.0, at: str | None = None) -> GroupState:
    """The group's state and members, from its coordinator (``at``, when known; OSError while it
    has none yet). A group on the KIP-848 consumer protocol is not seen here: it reads as Dead."""
    with connect(at or coordinator(bootstrap, group, plain, timeout), timeout, plain) as sock:
        answer = call(sock, frame(DESCRIBE_GROUPS, 2, array([string(group)])))
    answer.take(">i")  # throttle
    answer.take(">i")  # one group asked, one answered
    error, name, state = answer.take(">h"), answer.string() or "", answer.string() or ""
    if error in RETRIABLE:
        raise OSError(f"group {group!r} cannot be described yet (error {error})")
    if error != NONE:
        raise KafkaAdminError(f"DescribeGroups {group!r} failed with error {error}")
    answer.string()  # protocol type
    answer.string()  # protocol
    members = []
    for _ in range(answer.take(">i")):
        member_id, client_id = answer.string() or "", answer.string() or ""
        answer.string()  # client host
        answer.bytes_()  # subscription metadata
        members.append(GroupMember(member_id, client_id, _assignment(answer.bytes_())))
    return GroupState(name, state, tuple(members))


Offsets = dict[str, int]
"""``"topic[partition]"`` -> offset."""


def list_groups(bootstrap: str, plain: tuple[str, str] | None = None, timeout: float = 5.0) -> list[str]:
    """Every consumer group of the cluster: each broker lists the groups it coordinates, so all are asked."""
    meta = fetch_metadata(bootstrap, plain=plain)
    groups: set[str] = set()
    for address in meta.brokers.values():
        with connect(address, timeout, plain) as sock:
            answer = call(sock, frame(LIST_GROUPS, 5, b""))
        answer.take(">i")  # throttle
        if (error := answer.take(">h")) != NONE:
            raise OSError(f"ListGroups on {address} failed with error {error}")
        for _ in range(answer.take(">i")):
            groups.add(answer.string() or "")
            answer.string()  # protocol type
    return sorted(groups)


def committed_offsets(bootstrap: str, group: str, plain: tuple[str, str] | None = None,
                      timeout: float = 5.0) -> Offsets:
    """What ``group`` committed, on every partition it committed on (none: not committed)."""
    with connect(coordinator(bootstrap, group, plain, timeout), timeout, plain) as sock:
        answer = call(sock, frame(OFFSET_FETCH, 6, string(group) + struct.pack(">i", -1)))  # -1: every topic
    answer.take(">i")  # throttle
    offsets: Offsets = {}
    for _ in range(answer.take(">i")):
        topic = answer.string() or ""
        for _ in range(answer.take(">i")):
            partition, offset = answer.take(">i"), answer.take(">q")
            answer.string()  # metadata
            if answer.take(">h") == NONE and offset >= 0:
                offsets[f"{topic}[{partition}]"] = offset
    if (error := answer.take(">h")) != NONE:
        raise OSError(f"OffsetFetch for group {group!r} failed with error {error}")
    return offsets


def end_offsets(bootstrap: str, topics: list[str], plain: tuple[str, str] | None = None,
                timeout: float = 5.0) -> Offsets:
    """Each partition's end offset (the next offset to be written), asked of its leader."""
    meta = fetch_metadata(bootstrap, topics, plain=plain)
    by_leader: dict[int, list[tuple[str, int]]] = {}
    for p in meta.partitions:
        if p.leader < 0:
            raise OSError(f"{p.topic}[{p.partition}] has no leader now")
        by_leader.setdefault(p.leader, []).append((p.topic, p.partition))
    ends: Offsets = {}
    for leader, partitions in by_leader.items():
        per_topic: dict[str, list[int]] = {}
        for topic, partition in partitions:
            per_topic.setdefault(topic, []).append(partition)
        body = struct.pack(">i", -1) + array([
            string(topic) + array([struct.pack(">iq", n, -1) for n in numbers])  # -1: the latest offset
            for topic, numbers in per_topic.items()])
        with connect(meta.brokers[leader], timeout, plain) as sock:
            answer = call(sock, frame(LIST_OFFSETS, 7, body))
        for _ in range(answer.take(">i")):
            topic = answer.string() or ""
            for _ in range(answer.take(">i")):
                partition, error = answer.take(">i"), answer.take(">h")
                answer.take(">q")  # timestamp
                offset = answer.take(">q")
                if error != NONE:
                    raise OSError(f"ListOffsets {topic}[{partition}] failed with error {error}")
                ends[f"{topic}[{partition}]"] = offset
    return ends


def positions(bootstrap: str, group_prefix: str, topics: list[str],
              plain: tuple[str, str] | None = None) -> tuple[dict[str, Offsets], Offsets]:
    """(group -> committed offsets, end offsets) on ``topics``, for each group whose name starts with
    ``group_prefix`` and that committed on them (a group that never read them is not their consumer)."""
    wanted = set(topics)
    committed = {}
    for group in list_groups(bootstrap, plain):
        if group.startswith(group_prefix):
            mine = {where: offset for where, offset in committed_offsets(bootstrap, group, plain).items()
                    if where.rsplit("[", 1)[0] in wanted}
            if mine:
                committed[group] = mine
    if not committed:
        return {}, {}
    read = sorted({where.rsplit("[", 1)[0] for offsets in committed.values() for where in offsets})
    return committed, end_offsets(bootstrap, read, plain)


def delete_topics(bootstrap: str, topics: list[str], plain: tuple[str, str] | None = None,
                  timeout: float = 10.0) -> None:
    """Delete ``topics`` (those that do not exist are fine)."""
    body = array([string(t) for t in topics]) + struct.pack(">i", int(timeout * 1000))
    with connect_any(bootstrap, timeout + 2, plain) as sock:
        answer = call(sock, frame(DELETE_TOPICS, 3, body))
    answer.take(">i")  # throttle
    errors = {answer.string() or "": answer.take(">h") for _ in range(answer.take(">i"))}
    failed = {t: e for t, e in errors.items() if e not in (NONE, UNKNOWN_TOPIC)}
    if failed:
        raise KafkaAdminError(f"DeleteTopics failed: {failed} (Kafka error codes)")


def create_topics(bootstrap: str, topics: dict[str, int], replication: int, plain: tuple[str, str] | None = None,
                  timeout: float = 10.0) -> dict[str, tuple[int, str]]:
    """Create ``topics`` (name -> partitions); returns the ones refused, with error code and message."""
    entries = [string(name) + struct.pack(">ih", partitions, replication) + array([]) + array([])
               for name, partitions in topics.items()]
    body = array(entries) + struct.pack(">i?", int(timeout * 1000), False)
    with connect_any(bootstrap, timeout + 2, plain) as sock:
        answer = call(sock, frame(CREATE_TOPICS, 4, body))
    answer.take(">i")  # throttle
    refused = {}
    for _ in range(answer.take(">i")):  # v1+: each topic's error carries a message
        name, error, message = answer.string() or "", answer.take(">h"), answer.string()
        if error != NONE:
            refused[name] = (error, message or "")
    return refused


def recreate_topics(bootstrap: str, topics: dict[str, int], plain: tuple[str, str] | None = None,
                    within: float = 30.0) -> None:
    """Delete ``topics`` and create them again, empty, with leaders for every partition.

    KRaft deletes asynchronously: until it is done a create answers TOPIC_ALREADY_EXISTS, so the
    create is retried until the old topic is gone. Offsets a consumer group committed on a deleted
    topic go with it, so a group with a fixed name starts the new topic from its reset policy.
    """
    meta = fetch_metadata(bootstrap, plain=plain)
    replication = min(3, len(meta.brokers))
    delete_topics(bootstrap, list(topics), plain)
    deadline, pending, unsure = time.monotonic() + within, dict(topics), set()
    while pending:
        refused = create_topics(bootstrap, pending, replication, plain)
        if any(code not in (TOPIC_EXISTS, *RETRIABLE) for code, _ in refused.values()):
            raise KafkaAdminError(f"CreateTopics refused {refused} (Kafka error codes and messages)")
        # a create that timed out may have been done: "exists" on its retry is then our own topic
        refused = {t: e for t, e in refused.items() if not (e[0] == TOPIC_EXISTS and t in unsure)}
        unsure |= {t for t, (code, _) in refused.items() if code in RETRIABLE}
        pending = {t: topics[t] for t in refused}
        if pending and time.monotonic() > deadline:
            raise KafkaAdminError(f"topics {sorted(pending)} were not deleted and created again within {within:g} s")
        if pending:
            time.sleep(0.1)
    while True:
        meta = fetch_metadata(bootstrap, list(topics), plain=plain)
        counts = {t: sum(1 for p in meta.partitions if p.topic == t and p.leader >= 0) for t in topics}
        if counts == topics:
            return
        if time.monotonic() > deadline:
            raise KafkaAdminError(f"topics {sorted(topics)} created but without leaders after {within:g} s: {counts}")
        time.sleep(0.05)
