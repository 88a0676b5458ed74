"""Choose and start a backend by name: ``local``, ``docker`` or ``external``."""

from __future__ import annotations

from pathlib import Path

from chaos.infra.backends.base import Infra
from chaos.infra.topology import DEFAULT_ROLES

BACKENDS = ("local", "docker", "external")


def make_backend(
    name: str, brokers: int = 1, workdir: Path | None = None, endpoints_file: str | None = None,
    roles: tuple[str, ...] = DEFAULT_ROLES, secured: bool = False,
) -> Infra:
    """A running backend; the caller owns it and calls ``down()`` when done. ``secured`` (SASL and
    ACLs) is the local backend's; the others say so rather than run open."""
    if secured and name != "local":
        raise ValueError(f"--chaos-security sasl works with the local backend only for now, not {name!r}")
    if name == "local":
        from chaos.infra.backends.local import LocalBackend, default_workdir
        from chaos.infra.install import install

        install()
        backend = LocalBackend.create(workdir or default_workdir(), brokers=brokers, roles=roles, secured=secured)
        try:
            return backend.up()
        except BaseException:
            backend.down()
            raise
    if name == "external":
        from chaos.infra.backends.external import ExternalBackend

        if not endpoints_file:
            raise ValueError("the external backend needs --chaos-endpoints FILE (from `evchaos infra status --json`)")
        backend_ext = ExternalBackend.from_file(endpoints_file)
        backend_ext.wait_brokers(timeout=30)
        return backend_ext
    if name == "docker":
        from chaos.infra.backends.docker import DockerBackend

        return DockerBackend.start(brokers=brokers, roles=roles)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
