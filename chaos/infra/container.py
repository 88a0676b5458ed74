"""A process in a container, behind the same lifecycle as a local process (``chaos.infra.service.Service``).

The container runs attached (``docker run --rm`` in the foreground), so the ``docker`` client is the
Service's process: its output is the container's log, it ends when the container ends, and readiness
is probed exactly as for a local process. What a signal would do to a local process, Docker does to
the container: ``docker stop`` (SIGTERM, then SIGKILL), ``docker kill`` (SIGKILL), ``docker pause``
(the cgroup freezer, as SIGSTOP). Signalling the client instead would stop the client, not Kafka.

Containers use the host's network: their ports are the local backend's loopback ports, so the same
topology, proxies and listeners work unchanged, and no bridge network is ever made. Every mounted
folder is mounted at its own path, so configuration files name the same paths inside and outside.
Containers carry the run's label (``chaos.infra.lifeline``): a run's watchdog removes what it left.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from chaos.infra.lifeline import container_labels
from chaos.infra.service import ReadyCheck, Service, ServiceError

SERVICE_LABEL = "evchaos.service"
"""The container label naming the service it runs (brokers, Toxiproxy), for ``docker ps`` and messages."""


def docker_cli() -> str:
    """The ``docker`` client's path; a clear error when there is none."""
    found = shutil.which("docker")
    if found is None:
        raise ServiceError("no `docker` command on PATH: install the Docker client (Debian: docker.io)")
    return found


FREEZE_ATTEMPTS = 5
"""Tries of ``docker pause`` while the runtime answers that it could not freeze the container."""


def docker(*args: str, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One ``docker`` command; with ``check``, a failure raises with Docker's own words."""
    done = subprocess.run([docker_cli(), *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise ServiceError(f"docker {' '.join(args[:3])} failed (exit {done.returncode}): {done.stderr.strip()}")
    return done


@dataclass
class ContainerService(Service):
    """A ``Service`` whose process is ``docker run`` of one container; made by ``container_service``."""

    container: str = ""

    def start(self, wait: bool = True) -> Service:
        if not self.is_running():
            # A container of the same name may still be on its way out (``--rm`` after a kill).
            docker("rm", "--force", self.container, check=False)
        return super().start(wait)

    def stop(self, timeout: float | None = None) -> None:
        """``docker stop``: SIGTERM to the container's process, SIGKILL after ``timeout`` seconds."""
        if self.is_running():
            self.resume()
            grace = int(timeout if timeout is not None else self.stop_timeout)
            docker("stop", "--time", str(grace), self.container, timeout=grace + 30, check=False)
            self._wait_exit(10.0)
        self._reap()

    def kill(self) -> None:
        """``docker kill``: SIGKILL to the container's process, no shutdown."""
        if self.is_running():
            docker("kill", self.container, check=False)
            self._wait_exit(10.0)
        self._reap()

    def pause(self) -> None:
        """``docker pause``: every process of the container frozen; its sockets stay open.

        The runtime's cgroup freezer can give up on a busy container ("OCI runtime pause failed:
        unable to freeze", seen on a broker's JVM mid-write under load, once in a CI run): that one
        answer is asked again, a few times; any other failure, or the last try's, is raised."""
        if not self.is_running() or self.is_paused():
            return
        for attempt in range(FREEZE_ATTEMPTS):
            done = docker("pause", self.container, check=attempt == FREEZE_ATTEMPTS - 1)
            if done.returncode == 0:
                return
            if "unable to freeze" not in done.stderr:
                raise ServiceError(f"docker pause failed (exit {done.returncode}): {done.stderr.strip()}")
            time.sleep(0.2 * (attempt + 1))

    def resume(self) -> None:
        if self.is_paused():
            docker("unpause", self.container)

    def is_paused(self) -> bool:
        if not self.is_running():
            return False
        done = docker("inspect", "--format", "{{.State.Paused}}", self.container, check=False)
        return done.stdout.strip() == "true"

    def clean(self) -> None:
        super().clean()
        docker("rm", "--force", self.container, check=False)


def container_name(workdir: Path, name: str) -> str:
    """Unique per cluster folder, stable across restarts: ``evchaos-<folder hash>-<service>``."""
    digest = hashlib.sha1(str(workdir.resolve()).encode()).hexdigest()[:10]
    return f"evchaos-{digest}-{name}"


def container_service(
    name: str, image: str, command: Sequence[str], workdir: Path, *, mounts: Sequence[Path] = (),
    env: Mapping[str, str] | None = None, ready: ReadyCheck | None = None, ready_timeout: float = 60.0,
    data_dirs: Sequence[Path] = (), stop_timeout: float = 10.0,
) -> ContainerService:
    """The ``ContainerService`` running ``command`` in ``image`` on the host's network.

    ``env`` reaches the container by name only (``-e NAME``, the value from the client's own
    environment), so no secret appears on a command line. The container runs as the caller's user,
    so whatever it writes into the mounted folders belongs to whoever started it.
    """
    cname = container_name(workdir, name)
    labels = {**container_labels(), SERVICE_LABEL: name}
    argv = [
        docker_cli(), "run", "--rm", "--name", cname, "--network", "host",
        "--user", f"{os.getuid()}:{os.getgid()}",
        *(arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")),
        *(arg for path in (workdir, *mounts) for arg in ("--volume", f"{path}:{path}")),
        *(arg for key in (env or {}) for arg in ("--env", key)),
        image, *command,
    ]
    return ContainerService(
        name=name, argv=argv, workdir=workdir, env=dict(env or {}), ready=ready, ready_timeout=ready_timeout,
        data_dirs=data_dirs, stop_timeout=stop_timeout, container=cname,
    )
