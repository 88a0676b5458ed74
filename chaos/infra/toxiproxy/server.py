"""The local Toxiproxy server as a ``Service``: ready when its HTTP API answers ``/version``."""

from __future__ import annotations

from pathlib import Path

from chaos.infra.install import Installation
from chaos.infra.service import ReadyCheck, Service
from chaos.infra.toxiproxy.client import ToxiproxyClient


def toxiproxy_ready(host: str, port: int) -> ReadyCheck:
    client = ToxiproxyClient(f"http://{host}:{port}", timeout=1.0)
    return lambda: bool(client.version())


def toxiproxy_service(inst: Installation, host: str, port: int, workdir: Path) -> Service:
    return Service(
        name="toxiproxy",
        argv=[str(inst.toxiproxy_bin), "-host", host, "-port", str(port)],
        workdir=workdir,
        env={"LOG_LEVEL": "warn"},
        ready=toxiproxy_ready(host, port),
        ready_timeout=20.0,
    )
