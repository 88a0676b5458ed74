"""The Docker engine itself: is one answering, install one, start one, and stop only the one we started.

The engine is started the way these machines allow and the project wants: ``dockerd --bridge=none
--iptables=false``, so Docker makes no bridge network and touches no firewall rule; every container
the harness runs uses the host's network (``chaos.infra.container``) and its traffic stays on loopback.

Installing is a package manager's job and changes the machine, so it happens only when asked
(``install=True``: ``evchaos engine up --install``, or ``EVCHAOS_DOCKER_INSTALL=1``, or in CI) and
only where it can (root, ``apt-get``). Anything short of a running engine is an ``EngineState``
with the reason, which the docker tests turn into their one skip.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from chaos.infra import debian
from chaos.infra.backends.base import say
from chaos.infra.backends.docker.engine import DockerEngineUnavailable, require_engine
from chaos.infra.debian import apt_install
from chaos.infra.install import cache_home
from chaos.infra.service import Service

ENGINE_ARGS = ("--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false")
"""No default bridge network, no NAT, no firewall rules: containers use the host's network only."""
PACKAGES = ("docker.io", "mmdebstrap")
"""The engine and client, and the tool that makes offline base images from Debian packages."""


@dataclass(frozen=True)
class EngineState:
    """Whether an engine answers, whether this call started it, and if none answers, why not."""

    running: bool
    started: bool = False
    reason: str = ""


def engine_folder() -> Path:
    """Where the engine this harness starts keeps its pid file and log."""
    return cache_home() / "dockerd"


def engine_answers() -> bool:
    try:
        require_engine()
    except DockerEngineUnavailable:
        return False
    return True


def install_engine() -> None:
    """``apt-get install docker.io mmdebstrap``, with progress; raises with apt's words on failure."""
    apt_install(PACKAGES)


def _engine_service() -> Service:
    folder = engine_folder()
    return Service(
        name="dockerd", argv=["dockerd", *ENGINE_ARGS], workdir=folder,
        ready=engine_answers, ready_timeout=90.0, stop_timeout=30.0,
    )


def install_allowed() -> bool:
    """Install only where asked: CI, or ``EVCHAOS_DOCKER_INSTALL=1``."""
    return debian.install_allowed("EVCHAOS_DOCKER_INSTALL")


def ensure_engine(install: bool | None = None) -> EngineState:
    """An answering engine: the one that runs, or one started (and first installed, if allowed) here."""
    if engine_answers():
        return EngineState(running=True)
    if shutil.which("dockerd") is None:
        if not (install_allowed() if install is None else install):
            return EngineState(False, reason="no Docker engine is installed (dockerd not on PATH); install "
                               "docker.io, or set EVCHAOS_DOCKER_INSTALL=1 to let the harness install it")
        unable = debian.can_install()
        if unable is not None:
            return EngineState(False, reason=f"no Docker engine is installed, and it cannot be installed here "
                               f"({unable})")
        install_engine()
    if os.geteuid() != 0:
        return EngineState(False, reason="a Docker engine is installed but not running, and only root can "
                           "start one (sudo dockerd --bridge=none --iptables=false)")
    started = time.monotonic()
    say(f"starting the Docker engine: dockerd {' '.join(ENGINE_ARGS)} (log: {engine_folder() / 'dockerd.log'})")
    _engine_service().start()
    say(f"Docker engine ready ({time.monotonic() - started:.1f}s)")
    return EngineState(running=True, started=True)


def stop_engine() -> bool:
    """Stop the engine ``ensure_engine`` started (found by its pid file); an engine started otherwise is
    never touched. True if one was stopped."""
    service = _engine_service()
    if not service.is_running():  # no pid file, or its process has ended
        return False
    say("stopping the Docker engine the harness started")
    service.stop()
    return True
