"""What the docker backend asks of the Docker engine before any container exists: is one there.

Checked first so that a machine without Docker fails with one clear, specific error (which the pytest
plugin turns into a skip, by this class's name) instead of halfway through starting a cluster.
"""

from __future__ import annotations

import shutil
import subprocess

from chaos.infra.backends.docker.images import OFFICIAL_KAFKA_IMAGE, TOXIPROXY_IMAGE

KAFKA_IMAGE = OFFICIAL_KAFKA_IMAGE
"""The bridge-network backend's Kafka image (the host-network one may use ours, see ``host.kafka_image``)."""
__all__ = ["KAFKA_IMAGE", "TOXIPROXY_IMAGE", "DockerEngineUnavailable", "require_engine"]


class DockerEngineUnavailable(RuntimeError):
    """No Docker engine answers (no daemon, no socket, no permission): the docker backend cannot run."""


def require_engine() -> None:
    """Return if an engine answers; else ``DockerEngineUnavailable`` saying why none is reachable."""
    client = shutil.which("docker")
    if client is None:
        raise DockerEngineUnavailable("no Docker engine is reachable: there is no `docker` client on PATH "
                                      "(Debian: apt-get install docker.io; `evchaos engine up --install`)")
    try:
        done = subprocess.run([client, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=20)
    except subprocess.TimeoutExpired:
        raise DockerEngineUnavailable("no Docker engine is reachable: `docker info` did not answer in 20 s") from None
    if done.returncode != 0:
        words = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        raise DockerEngineUnavailable(f"no Docker engine is reachable ({words}); start one with `evchaos engine up`")
