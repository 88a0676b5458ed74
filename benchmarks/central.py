"""Central's throughput and latency against a real broker, next to a raw kafka-python round trip.

    python benchmarks/central.py [--bootstrap HOST:PORT] [--runs 3] [--requests 5000] [--rate 1000]

Without ``--bootstrap`` it starts the harness's ``local`` backend (one KRaft broker) and talks to the
broker directly, not through Toxiproxy: these are the no-fault figures.

What is measured, per run (the JSON keeps every run and the medians):
- ``central.throughput``: ``--requests`` authorization requests from distinct drivers sent as fast
  as possible to a real ``evcharge central`` process (its DB pre-seeded with as many available CPs);
  authorizations/s = responses / (last response - first request).
- ``central.latency``: requests paced at ``--rate`` per second (in 10 ms bursts); p50/p99 of
  request sent -> authorization received, measured in this process on one monotonic clock.
- ``raw.*``: the same two measurements for a bare produce -> consume of same-size records on the
  same broker (no Central), so ``ratio`` shows what Central's processing costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from system.central.store import Store  # noqa: E402
from system.messages import AuthorizationRequest, Topics, decode, encode, make  # noqa: E402
from system.states import CpState  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Receiver:
    """Consumes ``topic`` in a thread and records when each correlation key arrived."""

    def __init__(self, bootstrap: str, topic: str, key_of: Callable[[Any], str]) -> None:
        self.arrived: dict[str, float] = {}
        self.key_of = key_of
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"bench-{uuid.uuid4().hex}",
            auto_offset_reset="latest",
            fetch_max_wait_ms=10,
            enable_auto_commit=False,
        )
        self._wait_assigned()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _wait_assigned(self) -> None:
        deadline = time.monotonic() + 30
        while not self.consumer.assignment():
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark consumer got no partitions")
            self.consumer.poll(timeout_ms=100)
        self.consumer.seek_to_end()
        for tp in self.consumer.assignment():
            self.consumer.position(tp)

    def _run(self) -> None:
        while not self.stop.is_set():
            for records in self.consumer.poll(timeout_ms=50, max_records=5000).values():
                now = time.monotonic()
                for record in records:
                    self.arrived[self.key_of(record)] = now

    def wait_for(self, keys: list[str], timeout: float) -> None:
        """Until every key has arrived, or ``timeout``: whatever is missing then counts as lost."""
        deadline = time.monotonic() + timeout
        while any(k not in self.arrived for k in keys) and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.consumer.close()


def drive(
    producer: KafkaProducer,
    receiver: Receiver,
    n: int,
    make_record: Callable[[KafkaProducer, int], bytes],
    rate: float | None,
) -> dict[str, Any]:
    """Send ``n`` records (paced at ``rate``/s, or flat out) and time their answers."""
    sent: dict[str, float] = {}
    start = time.monotonic()
    burst = max(1, int((rate or 0) / 100))
    for i in range(n):
        if rate and i % burst == 0:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        key = make_record(producer, i)
        sent[key.decode()] = time.monotonic()
    producer.flush()
    receiver.wait_for(list(sent), timeout=60 + n / 500)
    got = [k for k in sent if k in receiver.arrived]
    latencies = [(receiver.arrived[k] - sent[k]) * 1000 for k in got]
    elapsed = max(receiver.arrived[k] for k in got) - min(sent.values()) if got else float("nan")
    return {
        "sent": n,
        "answered": len(got),
        "per_s": round(len(got) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
    }


def measure(
    producer: KafkaProducer, receiver: Receiver, n: int, rate: float, send: Callable[[KafkaProducer, int, str], bytes]
) -> dict[str, Any]:
    """Warm up (the consumer side is joined and answering), then a flat-out and a paced run."""
    warm = drive(producer, receiver, 50, lambda p, i: send(p, i, "w"), rate=100)
    if warm["answered"] < 50:
        raise RuntimeError(f"no answers during the warm-up: {warm}")
    return {
        "throughput": drive(producer, receiver, n, lambda p, i: send(p, i, "t"), rate=None),
        "latency": drive(producer, receiver, n, lambda p, i: send(p, i, "l"), rate=rate),
    }


def bench_central(bootstrap: str, n: int, rate: float, workdir: Path) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    db = workdir / f"{prefix}db"
    store = Store(db)
    with store.transaction():
        for i in range(2 * n + 10):
            store.register_cp(f"CP_{i:06d}", CpState.AVAILABLE, True, time.time())
    store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    central = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "system.cli",
            "central",
            "--bootstrap",
            bootstrap,
            "--topic-prefix",
            prefix,
            "--db",
            str(db),
            "--heartbeat-timeout",
            "86400",
            "--reservation-ttl",
            "3600",
            "--log-level",
            "WARNING",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
    receiver = Receiver(bootstrap, prefix + Topics.DRIVER_EVENTS, lambda r: decode(r.value).body.request_id)
    try:

        def request(p: KafkaProducer, i: int, tag: str) -> bytes:
            rid = f"{tag}{i}"
            body = AuthorizationRequest(request_id=rid, driver_id=f"{tag}D{i}", cp_id=None)
            p.send(prefix + Topics.DRIVER_REQUESTS, encode(make(body, "bench")))
            return rid.encode()

        return measure(producer, receiver, n, rate, request)
    finally:
        receiver.close()
        producer.close()
        central.terminate()
        central.wait(timeout=20)


def bench_raw(bootstrap: str, n: int, rate: float) -> dict[str, Any]:
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
    payload = b"x" * 300  # about the size of an authorization request

    def record(p: KafkaProducer, i: int, tag: str) -> bytes:
        key = f"{tag}{i}".encode()
        p.send(topic, key=key, value=payload)
        return key

    producer.send(topic, b"create").get(timeout=30)
    receiver = Receiver(bootstrap, topic, lambda r: (r.key or b"").decode())
    try:
        return measure(producer, receiver, n, rate, record)
    finally:
        receiver.close()
        producer.close()


def median_of(runs: list[dict[str, Any]], part: str, field: str) -> float:
    return round(statistics.median(r[part][field] for r in runs), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("EVCHARGE_BOOTSTRAP"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=1000.0, help="paced rate for the latency run, per s")
    parser.add_argument("--out", default=str(ROOT / "reports" / "bench" / "central.json"))
    args = parser.parse_args()

    infra = None
    bootstrap = args.bootstrap
    with tempfile.TemporaryDirectory(prefix="bench-central-") as tmp:
        if not bootstrap:
            from chaos.backends.factory import make_backend  # the benchmark, not system/, may use the harness

            infra = make_backend("local", brokers=1, workdir=Path(tmp) / "infra")
            bootstrap = infra.endpoints.internal_bootstrap
        try:
            central_runs, raw_runs = [], []
            for run in range(args.runs):
                central_runs.append(bench_central(bootstrap, args.requests, args.rate, Path(tmp)))
                raw_runs.append(bench_raw(bootstrap, args.requests, args.rate))
                print(f"run {run + 1}: central {central_runs[-1]} raw {raw_runs[-1]}", file=sys.stderr)
        finally:
            if infra is not None:
                infra.down()

    summary = {}
    for part in ("throughput", "latency"):
        for field in ("per_s", "p50_ms", "p99_ms"):
            c, r = median_of(central_runs, part, field), median_of(raw_runs, part, field)
            summary[f"{part}.{field}"] = {
                "central": c,
                "raw": r,
                "ratio_central_over_raw": round(c / r, 2) if r else None,
            }
    result = {
        "what": "authorizations through evcharge central vs raw kafka-python produce->consume, same broker",
        "cpu_count": os.cpu_count(),
        "requests_per_run": args.requests,
        "paced_rate_per_s": args.rate,
        "runs": args.runs,
        "median": summary,
        "goals": {
            "authorizations_per_s>=1000": summary["throughput.per_s"]["central"] >= 1000,
            "p99_ms<50_at_paced_rate": summary["latency.p99_ms"]["central"] < 50,
        },
        "central_runs": central_runs,
        "raw_runs": raw_runs,
        "bootstrap": "local backend (direct)" if infra is not None else bootstrap,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result["median"], indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
