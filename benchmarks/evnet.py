"""The pieces of a benchmark run that touch real processes: the cluster, topics, Central, a driver.

Kept apart from the measuring code so every benchmark starts and stops things the same way and
always in ``finally`` (a benchmark that leaks a JVM spoils the next one's figures). Everything here
talks to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from benchmarks.common import ROOT, say
from chaos.infra.backends.local import LocalBackend
from chaos.infra.service import Service
from evcharge.central.store import Store
from evcharge.states import CpState


@contextlib.contextmanager
def local_cluster(brokers: int = 1) -> Iterator[LocalBackend]:
    """A throw-away local backend (Kafka + Toxiproxy), removed on the way out whatever happens."""
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        backend = LocalBackend.create(Path(tmp) / "infra", brokers=brokers)
        try:
            backend.up()
            yield backend
        finally:
            backend.clean()


def new_prefix(tag: str) -> str:
    """A topic prefix of its own per measurement: runs sharing a broker never see each other."""
    return f"bench-{tag}-{uuid.uuid4().hex[:6]}."


def ensure_topics(bootstrap: str, topics: list[str], partitions: int = 1) -> None:
    """Create ``topics`` up front so consumers can be assigned at once (no auto-create race)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
    try:
        missing = sorted(set(topics) - set(admin.list_topics()))
        if missing:  # one call for all of them (a run may bring a hundred drivers' topics)
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(topic, partitions, 1) for topic in missing])
    finally:
        admin.close()


def seed_cps(db: Path, count: int) -> None:
    """Pre-register ``count`` available CPs, as if their monitors had already said hello."""
    store = Store(db)
    try:
        with store.transaction():
            for i in range(count):
                store.register_cp(f"CP_{i:04d}", CpState.AVAILABLE, True, time.time())
    finally:
        store.close()


def evcharge(
    name: str, workdir: Path, args: list[str], env: Mapping[str, str], module: str = "evcharge.cli"
) -> Service:
    """An ``evcharge`` process as a harness ``Service`` (own process group, log file, pid file).

    ``module`` lets a benchmark run the same CLI through a wrapper module if it ever needs one.
    """
    return Service(
        name=name,
        argv=[sys.executable, "-m", module, *args],
        workdir=workdir,
        env={"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **env},
        ready_timeout=30,
        stop_timeout=5,
    )


def central(
    workdir: Path, bootstrap: str, prefix: str, db: Path, log_level: str = "WARNING", registry: Path | None = None,
) -> Service:
    """Central with CPs that never time out (no monitors run in a benchmark) and a long TTL;
    ``registry``: its registry's database (message authentication on)."""
    args = ["central", "--db", str(db), "--heartbeat-timeout", "86400", "--reservation-ttl", "3600",
            *(["--registry-db", str(registry)] if registry else [])]
    env = {"EVCHARGE_BOOTSTRAP": bootstrap, "EVCHARGE_TOPIC_PREFIX": prefix, "EVCHARGE_LOG_LEVEL": log_level}
    return evcharge("central", workdir, args, env)


TOKEN = secrets.token_urlsafe(16)
"""The benchmark drivers' API token (``EVCHARGE_DRIVER_API_TOKEN``)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(port: int, path: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
    """One JSON call to a driver's control API on 127.0.0.1."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def driver(
    workdir: Path, name: str, bootstrap: str, prefix: str, env: Mapping[str, str], module: str = "evcharge.cli"
) -> tuple[Service, int]:
    """The real ``evcharge driver`` (fixed variant) with its API on a free port; ready once /health answers."""
    port = free_port()
    args = ["driver", "--id", name, "--api-port", str(port), "--variant", "fixed", "--request-deadline", "120"]
    base = {"EVCHARGE_BOOTSTRAP": bootstrap, "EVCHARGE_TOPIC_PREFIX": prefix, "EVCHARGE_LOG_LEVEL": "INFO",
            "EVCHARGE_DRIVER_API_TOKEN": TOKEN}
    service = evcharge(f"driver-{name}", workdir, args, {**base, **env}, module)
    service.ready = lambda: bool(http(port, "/health"))
    return service, port


@contextlib.contextmanager
def running(*services: Service) -> Iterator[None]:
    """Start ``services`` in order; stop every one that was started, in reverse, on the way out."""
    started: list[Service] = []
    try:
        for service in services:
            started.append(service)
            service.start()
        yield
    finally:
        for service in reversed(started):
            try:
                service.stop()
            except Exception as exc:  # keep stopping the others
                say(f"could not stop {service.name}: {exc}")
