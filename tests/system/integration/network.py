"""Start the EV network's real processes against the harness's Kafka, one ``chaos.infra.service.Service``
each, with short intervals so a test takes seconds, and read the outcome from Central's database
and the driver's HTTP API."""

from __future__ import annotations

import json
import secrets
import sqlite3
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.infra.ports import free_ports
from chaos.infra.service import Service
from evcharge.cp.health import ask

TOKEN = secrets.token_urlsafe(16)
"""Every driver's API token in these tests (``EVCHARGE_DRIVER_API_TOKEN``)."""


def free_port() -> int:
    return free_ports(1)[0]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll until ``predicate()`` is truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (OSError, sqlite3.Error, KeyError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {what}")
        time.sleep(0.1)


def http(port: int, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@dataclass
class Driver:
    service: Service
    port: int

    def charge(self, cp_id: str | None = None, duration_s: float | None = None) -> str:
        return http(self.port, "/charge", {"cp_id": cp_id, "duration_s": duration_s})["request_id"]

    def request(self, request_id: str) -> dict[str, Any]:
        return http(self.port, f"/requests/{request_id}")

    def wait_state(self, request_id: str, states: set[str], timeout: float) -> dict[str, Any]:
        return wait_until(
            lambda: (r := self.request(request_id)) and r["state"] in states and r,
            timeout,
            f"request {request_id} in {states}",
        )


@dataclass
class Network:
    infra: Any
    prefix: str
    workdir: Path
    ttl: float = 10.0
    services: list[Service] = field(default_factory=list)
    engine_port: dict[str, int] = field(default_factory=dict)

    @property
    def db(self) -> Path:
        return self.workdir / "central.db"

    def _service(
        self, name: str, role: str, args: list[str], ready: Callable[[], bool] | None, env: dict[str, str] | None = None
    ) -> Service:
        service = Service(
            name=name,
            argv=[sys.executable, "-m", "evcharge.cli", *args],
            workdir=self.workdir,
            env={
                "EVCHARGE_BOOTSTRAP": self.infra.endpoints.bootstrap(role),
                "EVCHARGE_TOPIC_PREFIX": self.prefix,
                "EVCHARGE_BACKOFF_MAX": "1",
                "EVCHARGE_BOOTSTRAP_TIMEOUT": "3",
                "PYTHONUNBUFFERED": "1",
                "EVCHARGE_DRIVER_API_TOKEN": TOKEN,
                **(env or {}),
            },
            ready=ready,
            ready_timeout=30,
        )
        self.services.append(service)
        return service

    def central(self, start: bool = True) -> Service:
        service = self._service(
            "central",
            "central",
            ["central", "--db", str(self.db), "--reservation-ttl", str(self.ttl), "--heartbeat-timeout", "4"],
            ready=lambda: self.db.exists() and bool(self.query("SELECT 1 FROM sqlite_master WHERE name='outbox'")),
        )
        return service.start() if start else service

    def charging_point(self, cp_id: str, duration: float = 3.0) -> Service:
        """Start the engine and its monitor; returns the monitor (``engine_port[cp_id]`` has the port)."""
        port = free_port()
        self.engine_port[cp_id] = port
        self._service(
            f"cp-{cp_id}",
            "cp",
            [
                "cp",
                "--id",
                cp_id,
                "--health-port",
                str(port),
                "--charge-duration",
                str(duration),
                "--telemetry-period",
                "0.5",
            ],
            ready=lambda: ask("127.0.0.1", port) == "OK",
        ).start()
        return self._service(
            f"monitor-{cp_id}",
            "monitor",
            ["monitor", "--cp", cp_id, "--engine-port", str(port), "--period", "0.5"],
            ready=None,
        ).start()

    def driver(self, driver_id: str, variant: str = "fixed", deadline: float = 120.0) -> Driver:
        port = free_port()
        service = self._service(
            f"driver-{driver_id}",
            "driver",
            [
                "driver",
                "--id",
                driver_id,
                "--api-port",
                str(port),
                "--variant",
                variant,
                "--request-deadline",
                str(deadline),
            ],
            ready=lambda: bool(http(port, "/health")),
        ).start()
        return Driver(service, port)

    def services_driver(self, driver_id: str, cps: list[str], pause: float) -> Service:
        """A driver in services-file mode: it charges at each CP in turn, then exits."""
        path = self.workdir / f"services-{driver_id}.txt"
        path.write_text("\n".join(cps) + "\n")
        return self._service(
            f"driver-{driver_id}",
            "driver",
            ["driver", "--id", driver_id, "--api-port", "0", "--services", str(path), "--service-pause", str(pause)],
            ready=None,
        ).start()

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def cp_state(self, cp_id: str) -> str | None:
        rows = self.query("SELECT state FROM cps WHERE cp_id=?", cp_id)
        return rows[0][0] if rows else None

    def wait_cp(self, cp_id: str, state: str, timeout: float = 30) -> None:
        wait_until(lambda: self.cp_state(cp_id) == state, timeout, f"{cp_id} {state}")

    def tickets(self, session_id: str | None = None) -> list[tuple[Any, ...]]:
        if session_id is None:
            return self.query("SELECT session_id, kwh, price_eur FROM tickets")
        return self.query("SELECT session_id, kwh, price_eur FROM tickets WHERE session_id=?", session_id)

    def stop_all(self) -> None:
        for service in reversed(self.services):
            service.stop(timeout=5)

    def logs(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.log_tail(15)}" for s in self.services)
