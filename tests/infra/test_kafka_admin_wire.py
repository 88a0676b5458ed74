"""The admin calls' response parsing, on canned responses laid out as the protocol's schemas say:
a field read out of order shifts every field after it, which one topic or one member can hide."""

from __future__ import annotations

import socket
import struct
from contextlib import contextmanager

import pytest

from chaos.infra import kafka_admin
from chaos.infra.kafka_protocol import Reader, array, connect_any, string


def nullable(value: str | None) -> bytes:
    return struct.pack(">h", -1) if value is None else string(value)


def answering(monkeypatch: pytest.MonkeyPatch, *bodies: bytes) -> list[bytes]:
    """Every call answers the next canned body; returns the requests sent."""
    sent: list[bytes] = []
    replies = list(bodies)

    @contextmanager
    def no_socket(*args, **kwargs):
        yield None

    def call(sock, request: bytes) -> Reader:
        sent.append(request)
        return Reader(replies.pop(0))

    monkeypatch.setattr(kafka_admin, "connect_any", no_socket)
    monkeypatch.setattr(kafka_admin, "connect", no_socket)
    monkeypatch.setattr(kafka_admin, "call", call)
    return sent


def test_create_topics_v2_reads_each_topics_error_message(monkeypatch):
    body = struct.pack(">i", 0) + array([
        string("orders") + struct.pack(">h", 0) + nullable(None),
        string("shipments") + struct.pack(">h", 36) + nullable("Topic 'shipments' already exists."),
        string("returns") + struct.pack(">h", 0) + nullable(None),
    ])
    answering(monkeypatch, body)
    refused = kafka_admin.create_topics("b:1", {"orders": 3, "shipments": 1, "returns": 1}, 1)
    assert refused == {"shipments": (36, "Topic 'shipments' already exists.")}


def test_describe_group_reads_every_members_assignment(monkeypatch):
    def assignment(topics: dict[str, list[int]]) -> bytes:
        raw = struct.pack(">h", 0) + array([string(t) + array([struct.pack(">i", p) for p in ps])
                                            for t, ps in topics.items()]) + struct.pack(">i", -1)
        return struct.pack(">i", len(raw)) + raw

    def member(member_id: str, topics: dict[str, list[int]]) -> bytes:
        metadata = struct.pack(">i", 3) + b"sub"
        return string(member_id) + string("client") + string("/127.0.0.1") + metadata + assignment(topics)

    body = struct.pack(">i", 0) + array([
        struct.pack(">h", 0) + string("g") + string("Stable") + string("consumer") + string("range")
        + array([member("m-1", {}), member("m-2", {"orders": [0, 1]})])])
    answering(monkeypatch, body)
    state = kafka_admin.describe_group("b:1", "g", at="b:1")
    assert state.state == "Stable" and [m.member_id for m in state.members] == ["m-1", "m-2"]
    assert state.members[0].assignment == {} and state.members[1].assignment == {"orders": (0, 1)}
    assert state.listening


def test_offset_fetch_v3_keeps_committed_offsets_and_reads_the_closing_error(monkeypatch):
    coordinator = struct.pack(">ih", 0, 0) + nullable(None) + struct.pack(">i", 1) + string("b") + struct.pack(">i", 1)
    partitions = array([struct.pack(">iq", 0, 7) + nullable("") + struct.pack(">h", 0),
                        struct.pack(">iq", 1, -1) + nullable(None) + struct.pack(">h", 0)])  # -1: none committed
    fetched = struct.pack(">i", 0) + array([string("orders") + partitions]) + struct.pack(">h", 0)
    answering(monkeypatch, coordinator, fetched)
    assert kafka_admin.committed_offsets("b:1", "g") == {"orders[0]": 7}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_bootstrap_answering_keeps_the_kind_of_failure_they_share():
    """link-down refuses, blackhole is silent: callers tell the faults apart by the error's kind."""
    addresses = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    with (
        pytest.raises(ConnectionRefusedError, match="no bootstrap server answered") as caught,
        connect_any(addresses, timeout=1.0),
    ):
        pass
    assert all(address in str(caught.value) for address in addresses.split(","))
