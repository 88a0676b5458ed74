"""Run a system under test: its spec's services as processes on one backend, in one work folder.

``SystemRun`` turns each ``ServiceSpec`` into a ``chaos.infra.service.Service`` (the one lifecycle) with its
placeholders filled in: ``{bootstrap}`` is the service's own role's proxies, so a fault on that role
hits exactly that service. On a secured cluster each Kafka-speaking service also gets a principal of
its own, named after the run's topic prefix and the service, with exactly its spec's grants
(``{kafka_user}``, ``{kafka_password}``); ``close`` removes them. It also builds the spec's state
probe and the fault context that lets faults name services. Nothing here knows which system it runs.
"""

from __future__ import annotations

import functools
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from chaos.core.sampler import StateProbe
from chaos.core.spec import ServiceSpec, SetupStep, SystemSpec
from chaos.core.templates import format_placeholders
from chaos.faults import FaultContext
from chaos.infra import kafka_admin
from chaos.infra.backends.base import Infra
from chaos.infra.endpoints import KafkaAccess
from chaos.infra.principals import add_principals, remove_principals
from chaos.infra.security import Credentials
from chaos.infra.service import Launch, Service
from chaos.infra.zygote import zygotes

REASSERT_WITHIN_S = 60.0
"""How long the run's principals may take to be asserted again after brokers come back."""
SETUP_TIMEOUT_S = 120.0
"""How long one set-up command may take (an init script, a schema migration)."""


class SetupFailed(RuntimeError):
    """A ``SystemSpec.setup`` step failed: the scenario cannot start; the message has its output."""


class TeardownFailed(RuntimeError):
    """A ``SystemSpec.teardown`` step failed (after the rest of the tear-down ran); the message has its output."""


class SystemRun:
    """A spec's services as processes on one backend, in one work folder."""

    def __init__(self, spec: SystemSpec, infra: Infra, workdir: Path, **values: str) -> None:
        self.spec, self.infra, self.workdir = spec, infra, workdir
        self._forget_hook: Callable[[], None] = lambda: None
        self._teardown: list[tuple[int, SetupStep]] = list(enumerate(spec.teardown, 1))
        self.values = {"workdir": str(workdir), "db": str(workdir / f"{spec.file_stem}.db"), **values}
        self.run_prefix = self.values.get("topic_prefix", "")
        """Unique to this run, whatever the topics are called: its principals' names carry it."""
        if spec.fixed_topics:  # isolated by fresh topics instead of a prefix the system cannot take
            self.values["topic_prefix"] = ""
            self._fresh_topics()
        for number, step in enumerate(spec.setup, 1):  # first: a failed step leaves nothing to undo
            self._run_step("set-up", number, step)
        self.credentials = self._principals()
        self.services = {s.name: self._service(s) for s in spec.services}

    @property
    def topic_prefix(self) -> str:
        """What this run's topic names start with (empty for a system with fixed topic names)."""
        return self.values.get("topic_prefix", "")

    def _fresh_topics(self) -> None:
        try:
            access = self.infra.endpoints.harness_access()
            kafka_admin.recreate_topics(access.bootstrap, dict(self.spec.fixed_topics), access.plain)
        except (OSError, KeyError, ValueError, kafka_admin.KafkaAdminError) as exc:
            topics = sorted(self.spec.fixed_topics)
            raise SetupFailed(f"the fixed topics {topics} could not be made fresh: {exc}") from exc

    def _run_step(self, stage: str, number: int, step: SetupStep) -> None:
        """Run one set-up or tear-down step in the work folder; ``SetupFailed`` / ``TeardownFailed``
        with its output if it fails."""
        error = SetupFailed if stage == "set-up" else TeardownFailed
        if callable(step):
            step(self.values)
            return
        argv = [format_placeholders(arg, self.values, f"{stage} step {number}") for arg in step]
        try:
            done = subprocess.run(argv, cwd=self.workdir, capture_output=True, text=True, timeout=SETUP_TIMEOUT_S,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise error(f"{stage} step {number} ({shlex.join(argv)}) could not run: {exc}") from None
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip()[-2000:]
            raise error(f"{stage} step {number} ({shlex.join(argv)}) exited {done.returncode}:\n{output}")

    def _principals(self) -> dict[str, Credentials]:
        """Service -> its credentials, made on a secured cluster (none on one without security)."""
        if not self.infra.endpoints.secured:
            return {}
        prefix = self.run_prefix
        grants = {
            f"{prefix}{s.name}": [replace(g, name=format_placeholders(g.name, {**self.values, "service": s.name},
                                                                      f"service {s.name!r} grant"))
                                  for g in s.grants]
            for s in self.spec.services if s.role is not None
        }
        made = add_principals(self.infra.endpoints.harness_access(), grants)
        # A SIGKILLed single-node KRaft cluster was seen to come back without the metadata records of
        # its last seconds, the SCRAM users a scenario had just made among them: every client of the
        # run then failed authentication for good. So the run asserts its principals again, with the
        # same passwords, whenever a fault's heal has brought brokers back.
        def reassert() -> None:  # a broker just back may time admin calls out for a while: retry
            deadline = time.monotonic() + REASSERT_WITHIN_S
            while True:
                try:
                    add_principals(self.infra.endpoints.harness_access(), grants, made)
                    return
                except Exception as exc:  # kafka-python raises KafkaError, OSError, TimeoutError...
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the run's principals could not be asserted again within "
                                           f"{REASSERT_WITHIN_S:g} s: {exc}") from exc
                    time.sleep(1.0)

        self._forget_hook = self.infra.when_brokers_back(reassert)
        return {user.removeprefix(prefix): credentials for user, credentials in made.items()}

    def close(self) -> None:
        """Remove the principals this run made, then run the spec's tear-down (its processes are the
        caller's to stop first); each once, however often it is called.

        Removing principals is best effort: a scenario may end with its cluster away, and a principal
        left behind harms nothing (its name carries the run's own prefix), so a failure is said, not
        raised. A failed tear-down step is raised (``TeardownFailed``), after the later steps ran."""
        self._forget_hook()
        users, self.credentials = [c.user for c in self.credentials.values()], {}
        if users:
            try:
                remove_principals(self.infra.endpoints.harness_access(), users)
            except Exception as exc:  # kafka-python raises KafkaError, OSError, TimeoutError...
                print(f"[evchaos] {len(users)} principals of this run not removed: {exc}", file=sys.stderr)
        steps, self._teardown = self._teardown, []
        failures = []
        for number, step in steps:
            try:
                self._run_step("tear-down", number, step)
            except Exception as exc:  # a step's own exception or TeardownFailed: the later steps still run
                failures.append(f"{exc}" if isinstance(exc, TeardownFailed) else f"tear-down step {number}: {exc!r}")
        if failures:
            raise TeardownFailed("\n".join(failures))

    def _service(self, spec: ServiceSpec) -> Service:
        credentials = self.credentials.get(spec.name)
        values = spec.placeholders(self.infra.endpoints.bootstrap, **self.values, service=spec.name,
                                   failpoints=str(self.failpoints(spec.name)),
                                   kafka_user=credentials.user if credentials else "",
                                   kafka_password=credentials.password if credentials else "")
        argv, env = spec.render(values)
        service = Service(spec.name, argv, self.workdir, env=env, ready_timeout=spec.ready_timeout,
                          cwd=spec.workdir(self.workdir, values), launch=self._launch)
        service.ready = spec.ready_check(service.log_path, values, self._harness_access())
        return service

    @property
    def _launch(self) -> Launch | None:
        """Fork the services from a pre-imported interpreter when the spec names what to preload."""
        modules = tuple(self.spec.preload)
        return functools.partial(zygotes().launch, modules) if modules else None

    def _harness_access(self) -> KafkaAccess | None:
        """How the harness reaches the cluster, for readiness by consumer group (None: no harness role)."""
        try:
            return self.infra.endpoints.harness_access()
        except KeyError:  # a cluster described without the harness's role: 'group' readiness says so
            return None

    def failpoints(self, service: str) -> Path:
        """The file a service reads its armed failpoints from (``{failpoints}`` in its spec), which
        the ``kill-at`` fault writes: how a harness stops a process at a step no log can time."""
        return self.workdir / f"{service}.failpoints"

    @property
    def fault_context(self) -> FaultContext:
        roles: Mapping[str, str] = {s.name: s.role for s in self.spec.services if s.role is not None}
        return FaultContext(self.infra, services=self.services, roles=roles,
                            topic_prefix=self.topic_prefix,
                            failpoints={name: self.failpoints(name) for name in self.services},
                            forger=self._forger())

    def _forger(self) -> Callable[[str], Sequence[tuple[bytes, str]]] | None:
        forgeries = self.spec.forgeries
        if forgeries is None:
            return None
        return lambda topic: forgeries(self.values, topic)

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
            self.close()
