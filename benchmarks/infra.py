"""Infrastructure figures: cold start to ready (1 and 3 nodes), Toxiproxy start, proxy overhead.

    python benchmarks/infra.py [--runs 5]

"Cold start" is from nothing running and no data folder to every broker answering a Metadata round
trip that lists all nodes, Toxiproxy included. Proxy overhead is the median round trip of a Metadata
request on one open connection through the role's proxy minus the same request sent straight to the
broker's listener, measured in the same run.
"""

from __future__ import annotations

import socket
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import goal, repeat, runs_from_args, say, summary, timed, write
from chaos.infra.backends.local import LocalBackend
from chaos.infra.install import default_installation, install
from chaos.infra.kafka_protocol import _encode_request, _recv_exact
from chaos.infra.ports import free_ports
from chaos.infra.toxiproxy.server import toxiproxy_service


def cold_start(brokers: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-infra-") as tmp:
        backend = LocalBackend.create(Path(tmp), brokers=brokers)
        try:
            return timed(backend.up)
        finally:
            backend.clean()


def toxiproxy_start() -> float:
    with tempfile.TemporaryDirectory(prefix="bench-toxi-") as tmp:
        service = toxiproxy_service(default_installation(), "127.0.0.1", free_ports(1)[0], Path(tmp))
        try:
            return timed(service.start)
        finally:
            service.stop()


def metadata_round_trips(address: str, count: int) -> list[float]:
    """``count`` Metadata round trips on one connection, each timed on its own."""
    host, port = address.rsplit(":", 1)
    times = []
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(count):
            request = _encode_request(None, correlation_id=i)
            started = time.perf_counter()
            sock.sendall(request)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            _recv_exact(sock, size)
            times.append(time.perf_counter() - started)
    return times


def proxy_overhead(runs: int, count: int = 400) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        backend = LocalBackend.create(Path(tmp), brokers=1).up()
        try:
            link = backend.topology.links_of("harness", 1)[0]
            proxied = backend.topology.addr(link.proxy_port)
            direct = backend.topology.addr(link.listener_port)
            metadata_round_trips(proxied, 200)  # warm the JIT on both paths
            metadata_round_trips(direct, 200)
            proxy_medians, direct_medians = [], []
            for i in range(runs):
                p = summary(metadata_round_trips(proxied, count))["median"]
                d = summary(metadata_round_trips(direct, count))["median"]
                proxy_medians.append(p)
                direct_medians.append(d)
                say(f"proxy round trip run {i + 1}/{runs}: proxied {p * 1e3:.3f} ms, direct {d * 1e3:.3f} ms")
        finally:
            backend.clean()
    proxied_s, direct_s = summary(proxy_medians), summary(direct_medians)
    return {
        "proxied_round_trip_s": proxied_s,
        "direct_round_trip_s": direct_s,
        "overhead_ms": (proxied_s["median"] - direct_s["median"]) * 1e3,
        "ratio_proxied_over_direct": proxied_s["median"] / direct_s["median"],
        "round_trips_per_run": count,
    }


def main(argv: list[str] | None = None) -> int:
    runs = runs_from_args(__doc__, argv, runs=5, quick_runs=1)
    install()
    figures: dict[str, Any] = {
        "second_install_s": repeat("second install", runs, lambda: timed(install)),
        "toxiproxy_start_s": repeat("toxiproxy start", runs, toxiproxy_start),
        "cold_start_1_broker_s": repeat("cold start, 1 broker", runs, lambda: cold_start(1)),
        "cold_start_3_nodes_s": repeat("cold start, 3 nodes", runs, lambda: cold_start(3)),
        "proxy": proxy_overhead(runs),
    }
    figures["goal_table"] = [
        goal("Cold start, 1 broker (median)", figures["cold_start_1_broker_s"]["median"], "<=", 5.0, " s"),
        goal("Cold start, 1 broker, stretch (median)", figures["cold_start_1_broker_s"]["median"], "<=", 3.0, " s"),
        goal("Cold start, 3 nodes (median)", figures["cold_start_3_nodes_s"]["median"], "<=", 10.0, " s"),
        goal("Toxiproxy overhead per round trip", figures["proxy"]["overhead_ms"], "<=", 1.0, " ms"),
        goal("Second install (median)", figures["second_install_s"]["median"], "<=", 2.0, " s"),
    ]
    write("infra", figures)
    for key in ("second_install_s", "toxiproxy_start_s", "cold_start_1_broker_s", "cold_start_3_nodes_s"):
        say(f"{key}: median {figures[key]['median']:.3f}")
    say(f"proxy overhead: {figures['proxy']['overhead_ms']:.3f} ms per round trip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
