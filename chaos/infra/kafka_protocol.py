"""A minimal Kafka wire protocol: framing, SASL/PLAIN and a Metadata call, for readiness and leader lookup.

Readiness must be a real protocol round trip, not a sleep or a log line. A Metadata response lists
only brokers that are registered and unfenced, so "every node lists N brokers" means the cluster can
serve clients. kafka-python could do this too, but its client takes hundreds of milliseconds to set
up and waits up to its bootstrap timeout when nothing answers; this call takes one socket and a few
milliseconds, which matters when it is polled while a broker starts. The same few pieces serve the
harness's other client-free calls (``chaos.infra.kafka_admin``), so it needs no Kafka client library
of its own to start, isolate and probe a system (issue: a system pinned to another client).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

METADATA_API_KEY = 3
METADATA_VERSION = 4  # non-flexible, still supported by Kafka 4.x (v0-v3 were removed in 4.0)
SASL_HANDSHAKE = (17, 1)  # api key, version: v1 means "SaslAuthenticate requests follow"
SASL_AUTHENTICATE = (36, 0)
SASL_AUTHENTICATION_FAILED = 58


class SaslError(OSError):
    """The broker refused our credentials or our mechanism (an OSError: readiness keeps polling)."""


@dataclass(frozen=True)
class PartitionMeta:
    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


@dataclass(frozen=True)
class ClusterMeta:
    brokers: dict[int, str]
    controller_id: int
    partitions: list[PartitionMeta] = field(default_factory=list)

    def leader(self, topic: str, partition: int = 0) -> int:
        for p in self.partitions:
            if p.topic == topic and p.partition == partition:
                return p.leader
        raise KeyError(f"no metadata for {topic}-{partition}")


class Reader:
    """Reads a non-flexible (pre-KIP-482) response body: big-endian ints, int16-length strings."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        value = self.data[self.pos : self.pos + length].decode()
        self.pos += length
        return value

    def int_array(self) -> tuple[int, ...]:
        return tuple(self.take(">i") for _ in range(self.take(">i")))

    def bytes_(self) -> bytes:
        length = self.take(">i")
        if length < 0:
            return b""
        value = self.data[self.pos : self.pos + length]
        self.pos += length
        return value


def string(value: str) -> bytes:
    """A non-flexible STRING: int16 length, then UTF-8."""
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def array(items: list[bytes]) -> bytes:
    """A non-flexible ARRAY of already encoded items."""
    return struct.pack(">i", len(items)) + b"".join(items)


def frame(api: tuple[int, int], correlation_id: int, body: bytes) -> bytes:
    """A request: size, header v1 (api key, version, correlation id, client id), body."""
    client_id = b"evchaos"
    header = struct.pack(">hhih", api[0], api[1], correlation_id, len(client_id)) + client_id
    return struct.pack(">i", len(header) + len(body)) + header + body


def _encode_request(topics: list[str] | None, correlation_id: int) -> bytes:
    if topics is None:
        body = struct.pack(">i", 0)  # an empty list: brokers only
    else:
        body = struct.pack(">i", len(topics))
        for t in topics:
            body += struct.pack(">h", len(t)) + t.encode()
    body += struct.pack(">?", False)  # allow_auto_topic_creation
    return frame((METADATA_API_KEY, METADATA_VERSION), correlation_id, body)


def call(sock: socket.socket, request: bytes) -> Reader:
    """Send one request and read its response (header v0: the correlation id, skipped)."""
    sock.sendall(request)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    reader = Reader(_recv_exact(sock, size))
    reader.take(">i")  # correlation id
    return reader


def sasl_plain(sock: socket.socket, user: str, password: str) -> None:
    """Authenticate a fresh connection with SASL/PLAIN (SaslHandshake v1, then SaslAuthenticate v0)."""
    mechanism = b"PLAIN"
    answer = call(sock, frame(SASL_HANDSHAKE, 101, struct.pack(">h", len(mechanism)) + mechanism))
    if (error := answer.take(">h")) != 0:
        raise SaslError(f"the broker does not take SASL/PLAIN here (error {error})")
    token = b"\0" + user.encode() + b"\0" + password.encode()
    answer = call(sock, frame(SASL_AUTHENTICATE, 102, struct.pack(">i", len(token)) + token))
    if (error := answer.take(">h")) != 0:
        reason = answer.string() or ""
        raise SaslError(f"SASL/PLAIN as {user!r} refused (error {error}): {reason}")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, remaining = [], n
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            raise ConnectionError("broker closed the connection mid-response")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def open_connection(address: str, timeout: float = 2.0, plain: tuple[str, str] | None = None) -> socket.socket:
    """A socket to ``host:port``, logged in with SASL/PLAIN as ``plain`` = (user, password) if given."""
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    try:
        if plain is not None:
            sasl_plain(sock, *plain)
    except BaseException:
        sock.close()
        raise
    return sock


@contextmanager
def connect(address: str, timeout: float = 2.0, plain: tuple[str, str] | None = None) -> Iterator[socket.socket]:
    """``open_connection`` as a context: closed on exit."""
    with open_connection(address, timeout, plain) as sock:
        yield sock


@contextmanager
def connect_any(bootstrap: str, timeout: float = 2.0, plain: tuple[str, str] | None = None) -> Iterator[socket.socket]:
    """A connection to the first of ``bootstrap``'s addresses that answers (a broker may be down
    under a fault while the others serve); a refused login is not retried elsewhere."""
    errors: list[tuple[str, OSError]] = []
    for address in [a for a in bootstrap.split(",") if a]:
        try:
            sock = open_connection(address, timeout, plain)
        except SaslError:
            raise
        except OSError as exc:
            errors.append((address, exc))
            continue
        with sock:
            yield sock
        return
    raise _none_answered(errors)


def _none_answered(errors: list[tuple[str, OSError]]) -> OSError:
    """One error for every address tried, of the kind they share: a caller (or a fault's test)
    must still tell a refused link (link-down) from a silent one (blackhole)."""
    kinds = {type(exc) for _, exc in errors}
    kind = kinds.pop() if len(kinds) == 1 else OSError
    detail = "; ".join(f"{address}: {exc}" for address, exc in errors) or "none given"
    return kind(f"no bootstrap server answered ({detail})")


def fetch_metadata(
    address: str, topics: list[str] | None = None, timeout: float = 2.0, plain: tuple[str, str] | None = None
) -> ClusterMeta:
    """One Metadata v4 round trip to ``host:port`` (or the first of a comma-separated list that
    answers), after SASL/PLAIN as ``plain`` = (user, password) if given; raises OSError if no
    broker answers (``SaslError`` if one refuses us)."""
    with connect_any(address, timeout, plain) as sock:
        r = call(sock, _encode_request(topics, correlation_id=1))
    r.take(">i")  # throttle time
    brokers: dict[int, str] = {}
    for _ in range(r.take(">i")):
        node_id, host_, port_ = r.take(">i"), r.string(), r.take(">i")
        r.string()  # rack
        brokers[node_id] = f"{host_}:{port_}"
    r.string()  # cluster id
    controller = r.take(">i")
    partitions = []
    for _ in range(r.take(">i")):
        r.take(">h")  # topic error
        name = r.string() or ""
        r.take(">?")  # is_internal
        for _ in range(r.take(">i")):
            r.take(">h")  # partition error
            index, leader = r.take(">i"), r.take(">i")
            partitions.append(PartitionMeta(name, index, leader, r.int_array(), r.int_array()))
    return ClusterMeta(brokers, controller, partitions)
