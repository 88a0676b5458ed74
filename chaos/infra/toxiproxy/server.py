"""The local Toxiproxy server as a ``Service``: ready when its HTTP API answers ``/version``."""

from __future__ import annotations

from pathlib import Path

from chaos.infra.install import Installation
from chaos.infra.service import Service
from chaos.infra.toxiproxy.client import ToxiproxyClient


def toxiproxy_service(inst: Installation, host: str, port: int, workdir: Path) -> Service:
    client = ToxiproxyClient(f"http://{host}:{port}", timeout=1.0)
    return Service(
        name="toxiproxy",
        argv=[str(inst.toxiproxy_bin), "-host", host, "-port", str(port)],
        workdir=workdir,
        env={"LOG_LEVEL": "warn"},
        ready=lambda: bool(client.version()),
        ready_timeout=20.0,
    )
