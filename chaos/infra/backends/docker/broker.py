"""A Kafka broker container behind the same ``Lifecycle`` as a local broker process.

Faults stop, kill and pause brokers without knowing the backend, so each process action maps onto
its Docker equivalent (``docker stop``/``kill``/``pause``), with the container's state re-read each
time because a fault, or Docker itself, may have changed it since.
"""

from __future__ import annotations

import time
from typing import Any

from chaos.infra.backends.docker.config import INTERNAL_PORT
from chaos.infra.kafka_protocol import fetch_metadata


class DockerBroker:
    """A broker container with the ``Lifecycle`` of a local broker: docker stop/kill/pause/unpause."""

    def __init__(self, node_id: int, container: Any, expected_brokers: int, stop_timeout: int = 20) -> None:
        self.node_id = node_id
        self.name = f"broker-{node_id}"
        self.container = container
        self.expected_brokers = expected_brokers
        self.stop_timeout = stop_timeout
        self.pid: int | None = None

    @property
    def _docker(self) -> Any:
        return self.container.get_wrapped_container()

    def status(self) -> str:
        """Docker's view: ``running``, ``paused``, ``exited``..."""
        docker = self._docker
        docker.reload()
        return str(docker.status)

    @property
    def internal(self) -> str:
        """Host address of the internal listener (re-read: a restart may publish another port)."""
        return f"{self.container.get_container_host_ip()}:{self.container.get_exposed_port(INTERNAL_PORT)}"

    def start(self, wait: bool = True) -> DockerBroker:
        if self.status() != "running":
            self._docker.start()
        if wait:
            self.wait_ready()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (``docker stop``)."""
        if self.status() == "paused":
            self._docker.unpause()
        self._docker.stop(timeout=int(timeout if timeout is not None else self.stop_timeout))

    def kill(self) -> None:
        """SIGKILL (``docker kill``): no clean shutdown, like a crash or a power cut."""
        if self.status() in ("running", "paused"):
            self._docker.kill()

    def pause(self) -> None:
        """Freeze every process of the container (``docker pause``), like SIGSTOP: sockets stay open."""
        if self.status() == "running":
            self._docker.pause()

    def resume(self) -> None:
        if self.status() == "paused":
            self._docker.unpause()

    def restart(self, hard: bool = False, wait: bool = True) -> None:
        self.kill() if hard else self.stop()
        self.start(wait=wait)

    def is_running(self) -> bool:
        return self.status() in ("running", "paused")

    def is_paused(self) -> bool:
        return self.status() == "paused"

    def wait_ready(self, timeout: float | None = None) -> None:
        """Ready when this broker's metadata lists the whole cluster (as for local brokers)."""
        deadline = time.monotonic() + (timeout if timeout is not None else 120.0)
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                live = fetch_metadata(self.internal, timeout=1.0).brokers
                if len(live) >= self.expected_brokers:
                    return
                last = f"{len(live)} live broker(s)"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.5)
        logs = b"".join(self.container.get_logs()).decode(errors="replace")[-3000:]
        raise TimeoutError(f"{self.name} not ready within {timeout or 120.0}s ({last}); container log tail:\n{logs}")

