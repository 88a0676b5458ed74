"""What the docker backend asks of the Docker engine before any container exists: is one there, and the images.

Both are checked first so that a machine without Docker fails with one clear, specific error (which
the pytest plugin turns into a skip, by this class's name) instead of halfway through starting a cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.infra import versions
from chaos.infra.backends.base import say

KAFKA_IMAGE = f"apache/kafka:{versions.KAFKA_VERSION}"
TOXIPROXY_IMAGE = f"evchaos/toxiproxy:{versions.TOXIPROXY_VERSION.lstrip('v')}"
TOXIPROXY_DOCKERFILE = "docker/toxiproxy.Dockerfile"
REPO_ROOT = Path(__file__).resolve().parents[4]
"""The build context: ``TOXIPROXY_DOCKERFILE`` is relative to it (chaos/infra/backends/docker/ is four levels down)."""


class DockerEngineUnavailable(RuntimeError):
    """No Docker engine answers (no daemon, no socket, no permission): the docker backend cannot run."""


def require_engine() -> Any:
    """A connected Docker client, or ``DockerEngineUnavailable`` saying why none is reachable."""
    try:
        from testcontainers.core.docker_client import DockerClient
    except ImportError as exc:
        raise DockerEngineUnavailable(
            f"the docker backend needs testcontainers (pip install 'evcharge-chaos[docker]'): {exc}"
        ) from None
    try:
        client = DockerClient()
        client.client.ping()
    except Exception as exc:  # docker-py raises DockerException, requests errors, OSError...
        raise DockerEngineUnavailable(f"no Docker engine is reachable ({type(exc).__name__}: {exc})") from None
    return client


def build_toxiproxy_image() -> None:
    """Build (or reuse from the engine's cache) the Toxiproxy image from ``docker/toxiproxy.Dockerfile``."""
    from testcontainers.core.docker_client import DockerClient

    say(f"building {TOXIPROXY_IMAGE} from {TOXIPROXY_DOCKERFILE} (cached after the first build)")
    DockerClient().build(
        path=str(REPO_ROOT), tag=TOXIPROXY_IMAGE, dockerfile=TOXIPROXY_DOCKERFILE,
        buildargs={"TOXIPROXY_VERSION": versions.TOXIPROXY_VERSION},
    )
