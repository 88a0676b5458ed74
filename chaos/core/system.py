"""Run a system under test: its spec's services as processes on one backend, in one work folder.

``SystemRun`` turns each ``ServiceSpec`` into a ``chaos.infra.service.Service`` (the one lifecycle) with its
placeholders filled in: ``{bootstrap}`` is the service's own role's proxies, so a fault on that role
hits exactly that service. It also builds the spec's state probe and the fault context that lets
faults name services. Nothing here knows which system it runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from chaos.core.sampler import StateProbe
from chaos.core.spec import ServiceSpec, SystemSpec
from chaos.faults import FaultContext
from chaos.infra.backends.base import Infra
from chaos.infra.service import Service


class SystemRun:
    """A spec's services as processes on one backend, in one work folder."""

    def __init__(self, spec: SystemSpec, infra: Infra, workdir: Path, **values: str) -> None:
        self.spec, self.infra, self.workdir = spec, infra, workdir
        self.values = {"workdir": str(workdir), "db": str(workdir / f"{spec.name}.db"), **values}
        self.services = {s.name: self._service(s) for s in spec.services}

    def _service(self, spec: ServiceSpec) -> Service:
        values = spec.placeholders(self.infra.endpoints.bootstrap, **self.values, service=spec.name,
                                   failpoints=str(self.failpoints(spec.name)))
        argv, env = spec.render(values)
        service = Service(spec.name, argv, self.workdir, env=env, ready_timeout=spec.ready_timeout)
        service.ready = spec.ready_check(service.log_path, values)
        return service

    def failpoints(self, service: str) -> Path:
        """The file a service reads its armed failpoints from (``{failpoints}`` in its spec), which
        the ``kill-at`` fault writes: how a harness stops a process at a step no log can time."""
        return self.workdir / f"{service}.failpoints"

    @property
    def fault_context(self) -> FaultContext:
        roles: Mapping[str, str] = {s.name: s.role for s in self.spec.services if s.role is not None}
        return FaultContext(self.infra, services=self.services, roles=roles,
                            topic_prefix=self.values.get("topic_prefix", ""),
                            failpoints={name: self.failpoints(name) for name in self.services})

    def probe(self) -> StateProbe:
        if self.spec.probe is None:
            raise ValueError(f"system {self.spec.name!r} has no probe")
        return self.spec.probe.build(self.values)

    @contextmanager
    def running(self) -> Iterator[SystemRun]:
        """Start the services in spec order, each ready before the next; stop them all on exit."""
        try:
            for service in self.services.values():
                service.start()
            yield self
        finally:
            for service in reversed(list(self.services.values())):
                service.stop(timeout=3)
