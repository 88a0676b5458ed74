"""Driver recovery: from Kafka becoming reachable again to the driver's first delivered message.

    python benchmarks/driver_recovery.py [--trials 20] [--quick]

Set-up: the ``local`` backend, a real ``evcharge central`` and a real ``evcharge driver`` (fixed
variant), each through its own role's Toxiproxy proxies. One trial:

1. ``cut(backend, "driver")``: the driver's proxies are disabled (its connections drop);
2. ``POST /charge`` on the driver's API: the request is accepted as pending, its
   ``authorization_request`` waits in the outbox;
3. wait 2-3.5 s (uniform, seeded), so the producer is retrying / backing off at a random phase;
4. t0 = just before ``backend.heal("driver")`` (the heal call itself, a few ms, is included);
5. t1 = when that ``authorization_request`` is seen on the broker by an observer consuming the
   driver-requests topic through the harness role's own proxy (never cut). Recovery = t1 - t0.

The broker-side observation is the purest: no Central processing, no reply path in the figure.
Then the trial waits for the driver's request to end (Central denies it: the CP id is unknown, so
no state accumulates) so every trial starts from a settled driver.

Several driver configurations run in the same cluster, same Central, one after the other (a fresh
driver process each): the defaults, and tuned backoffs, which is the before/after the issue asks for.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import evnet
from benchmarks.common import goal, say, summary, write
from chaos.faults import cut
from chaos.infra.backends.local import LocalBackend
from evcharge.messages import Topics


@dataclass(frozen=True)
class Variant:
    """One driver configuration: environment and the CLI module that runs it."""

    name: str
    env: dict[str, str]
    module: str = "evcharge.cli"


VARIANTS = (
    Variant("before: reconnect backoff max 1 s (the old default)", {"EVCHARGE_RECONNECT_BACKOFF_MAX": "1"}),
    Variant("after: defaults (reconnect backoff max 0.25 s)", {}),
)


class Observer:
    """Watches the driver-requests topic at the broker and notes when each request id first arrived."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.arrived: dict[str, float] = {}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=10, enable_auto_commit=False)
        partition = TopicPartition(topic, 0)
        self.consumer.assign([partition])
        self.consumer.seek_to_end(partition)
        self.consumer.position(partition)
        self._thread = threading.Thread(target=self._run, name="observer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for records in self.consumer.poll(timeout_ms=20).values():
                now = time.monotonic()
                with self._cond:
                    for record in records:
                        request_id = json.loads(record.value).get("payload", {}).get("request_id")
                        if request_id:
                            self.arrived.setdefault(request_id, now)
                    self._cond.notify_all()

    def wait(self, request_id: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while request_id not in self.arrived and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            return self.arrived.get(request_id)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.consumer.close()


def wait_final(port: int, request_id: str, timeout: float) -> str:
    """The request's state once it is no longer pending/authorized (or whatever it is at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        state = str(evnet.http(port, f"/requests/{request_id}")["state"])
        if state not in ("pending", "authorized") or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def trial(backend: LocalBackend, observer: Observer, port: int, wait: float) -> dict[str, Any]:
    down = cut(backend, "driver")
    try:
        request_id = evnet.http(port, "/charge", {"cp_id": "CP_UNKNOWN"})["request_id"]
        time.sleep(wait)
        leaked = request_id in observer.arrived  # must be False: the link was down
    finally:
        t0 = time.monotonic()
        down.heal()
        heal_ms = (time.monotonic() - t0) * 1000
    t1 = observer.wait(request_id, timeout=60)
    final = wait_final(port, request_id, timeout=30)
    return {"wait_s": round(wait, 3), "recovery_s": None if t1 is None else round(t1 - t0, 4),
            "heal_call_ms": round(heal_ms, 2), "leaked_during_cut": leaked, "final_state": final}


def run_variant(backend: LocalBackend, workdir: Path, prefix: str, observer: Observer, variant: Variant,
                index: int, trials: int, waits: tuple[float, float], rng: random.Random) -> list[dict[str, Any]]:
    service, port = evnet.driver(workdir, f"D{index}", backend.endpoints.bootstrap("driver"), prefix, variant.env,
                                 variant.module)
    with evnet.running(service):
        # the first send creates the producer: do it with the link up so every trial starts alike
        wait_final(port, evnet.http(port, "/charge", {"cp_id": "CP_UNKNOWN"})["request_id"], timeout=60)
        results = []
        for i in range(trials):
            result = trial(backend, observer, port, rng.uniform(*waits))
            results.append(result)
            say(f"{variant.name}: trial {i + 1}/{trials}: waited {result['wait_s']} s, "
                f"recovered in {result['recovery_s']} s ({result['final_state']})")
        return results


def variant_figures(variant: Variant, results: list[dict[str, Any]]) -> dict[str, Any]:
    recovered = [r["recovery_s"] for r in results if r["recovery_s"] is not None]
    return {"name": variant.name, "env": variant.env, "module": variant.module,
            "recovery_s": summary(recovered) if recovered else None,
            "not_recovered": len(results) - len(recovered), "trials": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="4 trials per variant, shorter waits: a smoke run")
    args = parser.parse_args(argv)
    trials, waits = (4, (1.0, 2.0)) if args.quick else (args.trials, (2.0, 3.5))
    rng = random.Random(args.seed)
    prefix = evnet.new_prefix("recovery")
    out = []
    with tempfile.TemporaryDirectory(prefix="bench-recovery-") as tmp, evnet.local_cluster() as backend:
        workdir = Path(tmp)
        topics = [prefix + t for t in Topics.CENTRAL_INPUTS]  # each driver makes its own events topic
        evnet.ensure_topics(backend.endpoints.internal_bootstrap, topics)
        db = workdir / "central.db"
        evnet.seed_cps(db, 1)
        observer = Observer(backend.endpoints.bootstrap("harness"), prefix + Topics.DRIVER_REQUESTS)
        try:
            with evnet.running(evnet.central(workdir, backend.endpoints.bootstrap("central"), prefix, db)):
                for index, variant in enumerate(VARIANTS):
                    results = run_variant(backend, workdir, prefix, observer, variant, index, trials, waits, rng)
                    out.append(variant_figures(variant, results))
        finally:
            observer.close()
    rows = [goal(f"Driver recovery p99, {v['name']}", v["recovery_s"] and v["recovery_s"]["p99"], "<=", 1.0, " s")
            for v in out]
    write("driver_recovery", {"what": "heal of the driver's proxies -> its pending authorization_request "
                                      "seen at the broker (harness-role consumer)",
                              "trials_per_variant": trials, "wait_range_s": waits, "seed": args.seed,
                              "variants": out, "goal_table": rows})
    for v in out:
        s = v["recovery_s"] or {}
        say(f"{v['name']}: p50 {s.get('p50')} s, p99 {s.get('p99')} s, max {s.get('max')} s, "
            f"not recovered {v['not_recovered']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
