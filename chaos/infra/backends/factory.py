"""Choose and start a backend by name: ``local``, ``docker`` or ``external``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from chaos.infra.backends.base import Infra
from chaos.infra.topology import DEFAULT_ROLES

if TYPE_CHECKING:
    from chaos.infra.backends.local import LocalBackend

BACKENDS = ("local", "docker", "external")


def docker_network() -> str:
    """``host`` or ``bridge``: ``EVCHAOS_DOCKER_NETWORK``, else ``host`` where the engine has no bridge
    network (``dockerd --bridge=none``, as on machines where none may be made), else ``bridge``."""
    chosen = os.environ.get("EVCHAOS_DOCKER_NETWORK", "auto")
    if chosen not in ("host", "bridge", "auto"):
        raise ValueError(f"EVCHAOS_DOCKER_NETWORK must be host, bridge or auto, not {chosen!r}")
    from chaos.infra.backends.docker.engine import require_engine
    from chaos.infra.container import docker

    require_engine()  # no engine: DockerEngineUnavailable, the docker tests' one skip, whatever the network
    if chosen != "auto":
        return chosen
    return "bridge" if docker("network", "inspect", "bridge", check=False).returncode == 0 else "host"


def _default_workdir() -> Path:
    from chaos.infra.backends.local import default_workdir

    return default_workdir()


def _up(backend: LocalBackend) -> Infra:
    """Start a backend that owns processes; whatever part of it did start is stopped if it fails."""
    try:
        return backend.up()
    except BaseException:
        backend.down()
        raise


def make_backend(
    name: str, brokers: int = 1, workdir: Path | None = None, endpoints_file: str | None = None,
    roles: tuple[str, ...] = DEFAULT_ROLES, secured: bool = False,
) -> Infra:
    """A running backend; the caller owns it and calls ``down()`` when done. ``secured`` (SASL and
    ACLs): the backends that start their brokers (local, docker on the host network) secure them; the
    external one needs the harness's credentials for its cluster in the endpoints file; the others
    say so rather than run open."""
    if name == "docker" and docker_network() == "host":
        from chaos.infra.backends.docker.host import HostDockerBackend

        return _up(HostDockerBackend.create(workdir or _default_workdir(), brokers=brokers, roles=roles,
                                            secured=secured))
    if secured and name == "docker":
        raise ValueError("--chaos-security sasl on the docker backend needs its host network "
                         "(EVCHAOS_DOCKER_NETWORK=host)")
    if name == "local":
        from chaos.infra.backends.local import LocalBackend, default_workdir
        from chaos.infra.install import install

        install()
        return _up(LocalBackend.create(workdir or default_workdir(), brokers=brokers, roles=roles, secured=secured))
    if name == "external":
        from chaos.infra.backends.external import ExternalBackend

        if not endpoints_file:
            raise ValueError("the external backend needs --chaos-endpoints FILE (from `evchaos infra status --json`)")
        backend_ext = ExternalBackend.from_file(endpoints_file)
        if secured and not backend_ext.endpoints.secured:
            raise ValueError(f"--chaos-security sasl with the external backend: {endpoints_file} has no "
                             "harness_credentials (the administrator's user, password and mechanism of that "
                             "cluster); add them, or run with --chaos-security none against an open cluster")
        backend_ext.wait_brokers(timeout=30)
        return backend_ext
    if name == "docker":
        from chaos.infra.backends.docker import DockerBackend

        return DockerBackend.start(brokers=brokers, roles=roles)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
