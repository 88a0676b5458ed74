"""Central's authorizations/s and request->authorization latency, next to a raw kafka-python round trip.

    python benchmarks/central.py [--runs 3] [--seconds 4] [--quick]

It starts the harness's ``local`` backend (one KRaft broker) and talks to the broker directly, not
through Toxiproxy: these are the no-fault figures. For each cell of the matrix (1, 10, 100
concurrent drivers x 10, 100 CPs) a closed-loop generator (``benchmarks/loadgen.py``) runs against
a real ``evcharge central`` process whose database is pre-seeded with that many available CPs,
``--runs`` times for ``--seconds`` each. The raw baseline is the same generator against a bare
kafka-python echo process (``benchmarks/echo.py``) on the same broker, at the same concurrency, in
the same run, measured twice:

- ``raw``: one message each way per round trip (request, echo);
- ``raw_matched``: the same traffic as the Central cell it is compared with. A granted
  authorization costs two messages each way (request and answer, then the release the generator
  sends so the CP pool is not used up, and Central's notice), so the generator also follows that
  cell's share of granted answers with a release, which the echo echoes. On 2 cores the generator
  shares the CPU with the server, so without this the generator's own extra half of the work would
  be billed to Central.

``ratio_p50`` is Central's p50 over ``raw_matched``'s (the goal's ratio: Central's own cost), and
``ratio_p50_plain`` over ``raw``'s.

``security``: the cost of message authentication, at the largest cell, in the same run: Central
with a registry (every request sealed by its driver's key, every answer sealed for its driver) next
to the same Central without, measured alternately so both see the same machine.

Central runs with ``--log-level WARNING`` (its default is INFO, which writes a JSON line per
message); the cost of INFO is measured separately in the same run (``logging``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import evnet
from benchmarks.common import ROOT, goal, say, summary, write
from benchmarks.loadgen import ClosedLoop
from chaos.infra.service import Service
from evcharge.messages import Topics
from evcharge.registry.store import RegistryStore

DRIVERS = (1, 10, 100)
CPS = (10, 100)
FIELDS = ("per_s", "granted_per_s", "p50_ms", "p99_ms")


Load = tuple[int, float]
"""(concurrent drivers, share of ungranted answers followed by a release: see ``ClosedLoop.run``)."""


def measure(bootstrap: str, request_topic: str, reply_topic: str | Callable[[str], str], loads: list[Load], runs: int,
            seconds: float, label: str) -> dict[Load, list[dict[str, Any]]]:
    """Every run of every load against whatever server answers ``request_topic``."""
    loop = ClosedLoop(bootstrap, request_topic, reply_topic)
    try:
        loop.warm_up()
        loop.run(max(n for n, _ in loads), 1.0, warm=0.0, tag="w")  # JIT, page cache, SQLite cache: not measured
        out: dict[Load, list[dict[str, Any]]] = {}
        for n, release in loads:
            for i in range(runs):
                figures = loop.run(n, seconds, release_fraction=release).figures()
                out.setdefault((n, release), []).append(figures)
                say(f"{label}, {n} driver(s){f', releases {release:.0%}' if release else ''}, run {i + 1}/{runs}: "
                    f"{figures['per_s']}/s p50 {figures['p50_ms']} ms p99 {figures['p99_ms']} ms "
                    f"(granted {figures['granted']})")
        return out
    finally:
        loop.close()


def granted_share(runs: list[dict[str, Any]]) -> float:
    """The median share of answers that were grants (each followed by a release), to 2 decimals."""
    return round(summary([r["granted"] / r["answered"] if r["answered"] else 0.0 for r in runs])["median"], 2)


@contextmanager
def central_server(
    bootstrap: str, workdir: Path, cps: int, log_level: str, registry: Path | None = None,
) -> Iterator[tuple[str, Callable[[str], str]]]:
    """A Central with ``cps`` available CPs on topics of its own; yields (request, reply) topics."""
    prefix = evnet.new_prefix(f"c{cps}")
    db = workdir / f"{prefix}db"
    evnet.seed_cps(db, cps)
    evnet.ensure_topics(bootstrap, [prefix + t for t in Topics.CENTRAL_INPUTS])
    with evnet.running(evnet.central(workdir, bootstrap, prefix, db, log_level, registry)):
        yield prefix + Topics.DRIVER_REQUESTS, lambda driver: prefix + Topics.driver_events(driver)


def security_cost(bootstrap: str, workdir: Path, runs: int, seconds: float) -> dict[str, Any]:
    """Central with and without message authentication at the largest cell, one after the other:
    each its own Central and generator, its drivers enrolled and their topics made in a warm-up, so
    neither pays for topics being made while it is measured."""
    registry = RegistryStore(workdir / "registry.db")
    registry.enroll("central", "central")
    by_mode: dict[str, list[dict[str, Any]]] = {"plain": [], "authenticated": []}
    for mode, runs_of_mode in by_mode.items():
        secured = mode == "authenticated"
        with central_server(bootstrap, workdir, max(CPS), "WARNING", Path(registry.path) if secured else None) \
                as topics:
            loop = ClosedLoop(bootstrap, *topics, enroll=(lambda d: registry.enroll("driver", d)) if secured else None)
            try:
                loop.warm_up()
                loop.run(max(DRIVERS), 2.0, warm=0.0, tag="w")  # first contact: keys, topics, metadata
                for i in range(runs):
                    figures = loop.run(max(DRIVERS), seconds).figures()
                    runs_of_mode.append(figures)
                    say(f"central {mode}, run {i + 1}/{runs}: {figures['per_s']}/s p50 {figures['p50_ms']} ms")
            finally:
                loop.close()
    registry.close()
    plain, sealed = medians(by_mode["plain"]), medians(by_mode["authenticated"])
    return {"cps": max(CPS), "drivers": max(DRIVERS), "plain": plain, "authenticated": sealed,
            "throughput_ratio": ratio(sealed["per_s"], plain["per_s"]),
            "p50_ratio": ratio(sealed["p50_ms"], plain["p50_ms"]), "runs": by_mode}


@contextmanager
def echo_server(bootstrap: str, workdir: Path) -> Iterator[tuple[str, str]]:
    prefix = evnet.new_prefix("raw")
    topics = (prefix + "requests", prefix + "replies")
    evnet.ensure_topics(bootstrap, list(topics))
    echo = Service("echo", [sys.executable, "-m", "benchmarks.echo", bootstrap, *topics], workdir,
                   env={"PYTHONPATH": str(ROOT)}, stop_timeout=5)
    with evnet.running(echo):
        yield topics


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {f: summary([r[f] for r in runs])["median"] for f in FIELDS}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def matrix(central: dict[int, dict[Load, list[dict[str, Any]]]], raw: dict[Load, list[dict[str, Any]]],
           matched: dict[Load, list[dict[str, Any]]]) -> list[dict]:
    """One row per (CPs, drivers): Central's, the plain echo's and the matched echo's medians and ratios."""
    rows = []
    for cps, by_load in central.items():
        for (n, _), runs in by_load.items():
            share = granted_share(runs)
            c, r, m = medians(runs), medians(raw[(n, 0.0)]), medians(matched[(n, share)])
            rows.append({"cps": cps, "drivers": n, "central": c, "raw": r, "raw_matched": m, "release_fraction": share,
                         "ratio_p50": ratio(c["p50_ms"], m["p50_ms"]), "ratio_p99": ratio(c["p99_ms"], m["p99_ms"]),
                         "ratio_p50_plain": ratio(c["p50_ms"], r["p50_ms"]),
                         "central_runs": runs, "raw_runs": raw[(n, 0.0)], "raw_matched_runs": matched[(n, share)]})
    return rows


def goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's goals: >= 1000 auth/s at the largest load, p99 < 50 ms, within 3x raw latency."""
    peak = max(rows, key=lambda r: r["central"]["per_s"])
    worst_p99 = max(rows, key=lambda r: r["central"]["p99_ms"] or 0)
    worst_ratio = max(rows, key=lambda r: r["ratio_p50"] or 0)
    one = [r for r in rows if r["drivers"] == 1]
    return [
        goal(f"Central authorizations/s (best cell: {peak['drivers']} drivers, {peak['cps']} CPs)",
             peak["central"]["per_s"], ">=", 1000, "/s"),
        goal(f"Central p99 request->authorization, worst cell ({worst_p99['drivers']} drivers, "
             f"{worst_p99['cps']} CPs)", worst_p99["central"]["p99_ms"], "<=", 50, " ms"),
        goal("Central p50 latency / raw (same traffic), 1 driver (worst of CP counts)",
             max(r["ratio_p50"] or 0 for r in one), "<=", 3, "x"),
        goal(f"Central p50 latency / raw (same traffic), worst cell ({worst_ratio['drivers']} drivers, "
             f"{worst_ratio['cps']} CPs)", worst_ratio["ratio_p50"], "<=", 3, "x"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per run (after 0.5 s warm-up)")
    parser.add_argument("--quick", action="store_true", help="1 run of 1.5 s per cell: a smoke run")
    args = parser.parse_args(argv)
    runs, seconds = (1, 1.5) if args.quick else (args.runs, args.seconds)
    central: dict[int, dict[Load, list[dict[str, Any]]]] = {}
    plain = [(n, 0.0) for n in DRIVERS]
    with tempfile.TemporaryDirectory(prefix="bench-central-") as tmp, evnet.local_cluster() as backend:
        bootstrap, workdir = backend.endpoints.internal_bootstrap, Path(tmp)
        with echo_server(bootstrap, workdir) as topics:
            raw = measure(bootstrap, *topics, plain, runs, seconds, "raw echo")
        for cps in CPS:
            with central_server(bootstrap, workdir, cps, "WARNING") as topics:
                central[cps] = measure(bootstrap, *topics, plain, runs, seconds, f"central, {cps} CPs")
        loads = sorted({(n, granted_share(r)) for by_load in central.values() for (n, _), r in by_load.items()})
        with echo_server(bootstrap, workdir) as topics:
            matched = measure(bootstrap, *topics, loads, runs, seconds, "raw echo, same traffic")
        with central_server(bootstrap, workdir, max(CPS), "INFO") as topics:
            info = measure(bootstrap, *topics, [(max(DRIVERS), 0.0)], runs, seconds, "central at log level INFO")
        security = security_cost(bootstrap, workdir, runs, seconds)
    rows = matrix(central, raw, matched)
    warning_cell = next(r for r in rows if r["cps"] == max(CPS) and r["drivers"] == max(DRIVERS))
    figures = {
        "what": "closed-loop authorization requests through evcharge central vs a bare kafka-python echo, "
                "same broker (direct, no proxy), same client code",
        "runs": runs, "seconds_per_run": seconds, "matrix": rows,
        "logging": {"cps": max(CPS), "drivers": max(DRIVERS), "warning": warning_cell["central"],
                    "info": medians(info[(max(DRIVERS), 0.0)]), "info_runs": info[(max(DRIVERS), 0.0)]},
        "security": security,
        "goal_table": [*goals(rows),
                       goal("Central with message authentication / without, p50, 100 drivers x 100 CPs",
                            security["p50_ratio"], "<=", 1.25, "x"),
                       goal("Central with message authentication / without, authorizations/s",
                            security["throughput_ratio"], ">=", 0.8, "x")],
    }
    write("central", figures)
    for r in rows:
        m = r["raw_matched"]
        say(f"{r['cps']:>3} CPs {r['drivers']:>3} drivers: central {r['central']['per_s']:>7}/s "
            f"p50 {r['central']['p50_ms']} p99 {r['central']['p99_ms']} ms | raw, same traffic {m['per_s']:>7}/s "
            f"p50 {m['p50_ms']} p99 {m['p99_ms']} ms | ratio p50 {r['ratio_p50']} p99 {r['ratio_p99']} "
            f"(plain echo: p50 {r['raw']['p50_ms']} ms, ratio {r['ratio_p50_plain']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
