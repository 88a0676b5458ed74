"""A closed-loop load generator: N virtual drivers, each with exactly one request outstanding.

Why closed loop: "N concurrent drivers" means N requests in flight, so throughput and latency are
two views of the same run (Little's law: throughput ~ N / latency), and a slow server slows the
offered load instead of piling up an unbounded queue that would make every latency meaningless.

Each virtual driver sends an ``authorization_request`` (any CP) keyed by its id, waits for the
answer, releases an authorized reservation with a ``stop_request`` (so a small CP pool is not used
up; same key, so Central handles it before that driver's next request), and asks again, until the
run's time is up. An answer is an authorization decision, granted or denied ("no CP available" when
more drivers than CPs hold reservations); both are counted, and granted ones separately.

The same generator drives the raw baseline (``benchmarks/echo.py``), whose "answer" is the request
itself echoed back: the identical client code on both sides, so the ratio is Central's own cost.
A granted authorization costs two messages each way (the request and its answer, the release and
its notice), so against the echo ``release_fraction`` sends that share of answers a release too,
which the echo also echoes: the load generator and the server then carry the same traffic as in
the Central run they are compared with, and only the server's own work differs.
All times are ``time.monotonic()`` in this one process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from benchmarks.common import percentile
from benchmarks.evnet import ensure_topics
from evcharge.auth.seal import seal
from evcharge.messages import AuthorizationRequest, StopRequest, encode, make

ANSWER_TYPES = ("authorization_response", "authorization_request")  # Central's answer, or the echo


@dataclass
class RunResult:
    drivers: int
    answered: int
    granted: int
    lost: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)

    def figures(self) -> dict[str, Any]:
        return {
            "drivers": self.drivers,
            "answered": self.answered,
            "granted": self.granted,
            "lost": self.lost,
            "per_s": round(self.answered / self.seconds, 1),
            "granted_per_s": round(self.granted / self.seconds, 1),
            "p50_ms": round(percentile(self.latencies_ms, 50), 2) if self.latencies_ms else None,
            "p99_ms": round(percentile(self.latencies_ms, 99), 2) if self.latencies_ms else None,
        }


class ClosedLoop:
    """One producer and one reply consumer shared by every virtual driver of a run."""

    def __init__(
        self, bootstrap: str, request_topic: str, reply_topic: str | Callable[[str], str],
        enroll: Callable[[str], bytes] | None = None,
    ) -> None:
        """``reply_topic``: one topic for every answer (the echo's), or driver id -> that driver's own
        topic (Central's: ``Topics.driver_events``), made before each run and read from its end.
        ``enroll``: driver id -> its key, for a Central that authenticates its messages: each run's
        drivers are enrolled before it starts, and every request is sealed as a real driver seals it."""
        self.request_topic = request_topic
        self._bootstrap = bootstrap
        self._reply_topic = reply_topic
        self._enroll = enroll
        self._keys: dict[str, bytes] = {}
        # linger 0: the instrument must not add its own batching delay (both sides share it anyway)
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, client_id="bench-loadgen")
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=10, enable_auto_commit=False)
        if isinstance(reply_topic, str):
            self._listen([reply_topic])
        self._lock = threading.Lock()
        self._outstanding: dict[str, tuple[int, int, float]] = {}  # request id -> (driver, seq, sent at)
        self._tag = ""
        # Drivers keep their ids across runs, as a network's drivers do: a driver's first contact (its
        # key enrolled, its own topic made and its metadata fetched by Central) is paid once, in the
        # warm-up, not in every measured run. Runs are told apart by their request ids.
        self._ids = f"b{time.monotonic_ns() % 10**9}"
        self._listening: list[str] = []

    def _listen(self, topics: list[str]) -> None:
        """Read ``topics`` from their end on (no group: no rebalance to wait for)."""
        partitions = [TopicPartition(topic, 0) for topic in topics]
        self.consumer.assign(partitions)
        self.consumer.seek_to_end(*partitions)
        for partition in partitions:
            self.consumer.position(partition)

    def close(self) -> None:
        self.producer.close(timeout=5)
        self.consumer.close()

    def warm_up(self, timeout: float = 60.0) -> None:
        """Until one request is answered: the server has joined its group and topics exist."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.run(1, 0.5, warm=0.0, tag="warm", drain_timeout=2.0)
            if result.answered:
                return
        raise RuntimeError(f"no answer on {self.request_topic} within {timeout:.0f} s: is the server running?")

    def run(
        self, drivers: int, seconds: float, warm: float = 0.5, tag: str = "", drain_timeout: float = 30.0,
        release_fraction: float = 0.0,
    ) -> RunResult:
        """``drivers`` virtual drivers for ``warm + seconds`` s; figures cover the last ``seconds`` only.

        ``release_fraction``: the share of ungranted answers (the echo's) followed by a release anyway.
        """
        self._tag = f"{tag or 'r'}{time.monotonic_ns() % 10**9}"
        credit = 0.0
        latencies: list[float] = []
        answered = granted = 0
        start = time.monotonic()
        window_start, end = start + warm, start + warm + seconds
        new = [self._driver_id(d) for d in range(drivers) if self._driver_id(d) not in self._keys]
        for driver_id in new:
            self._keys[driver_id] = self._enroll(driver_id) if self._enroll is not None else b""
        if not isinstance(self._reply_topic, str) and new:  # a topic per driver: the new drivers' too
            topics = [self._reply_topic(driver_id) for driver_id in new]
            ensure_topics(self._bootstrap, topics)
            self._listening += topics
            self._listen(self._listening)
        for d in range(drivers):
            self._send_request(d, 0)
        while True:
            now = time.monotonic()
            with self._lock:
                if not self._outstanding or now > end + drain_timeout:
                    lost = len(self._outstanding)
                    self._outstanding.clear()
                    break
            for records in self.consumer.poll(timeout_ms=50, max_records=5000).values():
                arrived = time.monotonic()
                for record in records:
                    answer = self._answer(record.value)
                    if answer is None:
                        continue
                    driver, seq, sent, reservation_id = answer
                    if reservation_id:
                        self._release(driver, reservation_id)
                    else:  # the echo's answers: every 1/release_fraction-th one is released all the same
                        credit += release_fraction
                        if credit >= 1.0:
                            credit -= 1.0
                            self._release(driver, "echo")
                    if sent >= window_start and arrived <= end:
                        latencies.append((arrived - sent) * 1000)
                        answered += 1
                        granted += reservation_id is not None
                    if arrived < end:
                        self._send_request(driver, seq + 1)
        return RunResult(drivers, answered, granted, lost, seconds, latencies)

    # -- internals -------------------------------------------------------------------------------
    def _driver_id(self, driver: int) -> str:
        return f"{self._ids}-D{driver}"

    def _send_request(self, driver: int, seq: int) -> None:
        driver_id = self._driver_id(driver)
        request_id = f"{driver_id}-{self._tag}-{seq}"
        value = self._encode(AuthorizationRequest(request_id=request_id, driver_id=driver_id, cp_id=None))
        with self._lock:
            self._outstanding[request_id] = (driver, seq, time.monotonic())
        self.producer.send(self.request_topic, key=driver_id.encode(), value=value)

    def _release(self, driver: int | str, reservation_id: str) -> None:
        driver_id = driver if isinstance(driver, str) else self._driver_id(driver)
        body = StopRequest(driver_id=driver_id, reservation_id=reservation_id)
        self.producer.send(self.request_topic, key=body.driver_id.encode(), value=self._encode(body))

    def _encode(self, body: AuthorizationRequest | StopRequest) -> bytes:
        """The record a driver sends: sealed with its key when the run's drivers are enrolled."""
        key = self._keys.get(body.driver_id)
        if not key:
            return encode(make(body, "bench"))
        return seal(encode(make(body, f"driver:{body.driver_id}")), key)

    def _answer(self, raw: bytes) -> tuple[int, int, float, str | None] | None:
        """(driver, seq, sent at, reservation id if granted) for an answer of this run, else None."""
        envelope = json.loads(raw)
        if envelope.get("type") not in ANSWER_TYPES:
            return None  # e.g. reservation_released after our own stop_request
        payload = envelope["payload"]
        with self._lock:
            pending = self._outstanding.pop(payload["request_id"], None)
        if pending is None:  # an earlier run's straggler: its grant is released all the same
            if payload.get("authorized") and payload.get("reservation_id") and payload.get("driver_id") in self._keys:
                self._release(str(payload["driver_id"]), str(payload["reservation_id"]))
            return None
        granted = payload.get("authorized") and payload.get("reservation_id")
        return (*pending, granted or None)
