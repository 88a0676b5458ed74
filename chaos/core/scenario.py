"""One scenario, end to end: a system under test, a history, faults, and a judged verdict.

This is where Jepsen's three parts meet without mixing, as its test map (``chaos.core.testmap``)
names them: the workload plays the clients (operations recorded through ``scenario.op``), the
nemesis breaks things (one fault at a time with ``scenario.fault``, or the map's schedule with
``scenario.run``), and the map's checks judge the recorded history afterwards (``scenario.judge``).
States are sampled through the spec's probe all along, so the checks see what the system's own
database said, not what a client believed.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from chaos.checks import InvariantSpec, run_checks
from chaos.checks.base import Verdict
from chaos.checks.measures import Recovery, recovery
from chaos.core.evidence import (
    consumed,
    gathering,
    injected,
    record_audit,
    record_consumer_lag,
    record_dead_letters,
    record_services,
)
from chaos.core.facts import record_facts
from chaos.core.history import REFUSED, History, Operation
from chaos.core.sampler import StateSampler
from chaos.core.spec import SystemSpec
from chaos.core.system import SystemRun
from chaos.core.testmap import TestMap
from chaos.faults import FaultContext
from chaos.faults.base import BaseFault, applied
from chaos.infra.backends.base import Infra
from chaos.infra.endpoints import KafkaAccess
from chaos.nemesis import Schedule, ScheduleRunner

T = TypeVar("T")


class ScenarioFailed(AssertionError):
    """An invariant was broken: the message lists every failed verdict and how to replay."""


class Scenario:
    """A system under test started on a backend, with its history, faults and checks."""

    def __init__(
        self,
        test: TestMap,
        spec: SystemSpec,
        infra: Infra,
        workdir: Path,
        topic_prefix: str,
        values: Mapping[str, str] | None = None,
    ) -> None:
        self.test, self.spec, self.infra, self.workdir = test, spec, infra, workdir
        self.created = time.monotonic()
        self.asserted = False
        self.clients: Any = self
        """What the map's workload drives; a suite with client objects of its own sets them here."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.invariants: InvariantSpec = test.invariants or spec.invariants
        self.checks = test.checks if test.checks is not None else spec.checks
        self.history = History(
            workdir / "history.jsonl", seed=test.seed, scenario=test.name, system=spec.name,
            invariants=self.invariants.to_dict(), state_colors=dict(spec.state_colors),
            checks=list(self.checks) if self.checks is not None else None,
        )
        self.system = SystemRun(spec, infra, workdir, topic_prefix=topic_prefix, **dict(values or {}))
        self.faults: FaultContext = self.system.fault_context
        self.topic_prefix = self.system.topic_prefix  # the run's, unless the system's topics are fixed
        self._gathered = False
        self.gatherers: list[tuple[str, Callable[[], object]]] = []
        """(what, gather): the suite's own evidence (its clients' records, the system's database),
        gathered with the harness's before any judging, also when a scenario ends in an error."""
        self.schedule: Schedule | None = None
        self.verdicts: list[Verdict] = []
        self.recovery: Recovery | None = None
        self._sampler = StateSampler(self.history, self.system.probe()) if spec.probe else None

    @property
    def name(self) -> str:
        return self.test.name

    @property
    def seed(self) -> int | None:
        """The one seed of this scenario (the map's): its nemesis, history and replay hints use it."""
        return self.test.seed

    # -- system ----------------------------------------------------------------------------------
    def start(self, *names: str, wait: bool = True) -> None:
        """Start services by name (all, in spec order, if none given), together; then wait until each
        is ready (with ``wait``). Sampling starts with the first call.

        Starting together, not one by one, matters on 2 cores: a Python service spends most of its
        start importing, and a scenario's start time is paid by every scenario.
        """
        if self._sampler is not None and not self._sampler.running:
            self._sampler.start()
        services = [self.system.services[name] for name in names or [s.name for s in self.spec.services]]
        since = self.history.clock.now()
        for service in services:
            service.start(wait=False)
        if wait:
            for service in services:
                service.wait_ready()
        # for the report's story (chaos.report.story): what started, and how long it took to be ready
        self.history.record("started", services=[s.name for s in services], since=round(since, 6), ready=wait)

    def service(self, name: str) -> Any:
        return self.system.services[name]

    # -- clients ---------------------------------------------------------------------------------
    @contextmanager
    def op(self, process: str, f: str, value: Any = None, resource: str | None = None) -> Iterator[Operation]:
        """Record one client operation (invoke, then ok / fail / unknown) in the history."""
        with self.history.operation(process, f, value, resource) as operation:
            yield operation

    # -- faults ----------------------------------------------------------------------------------
    @contextmanager
    def fault(self, kind: str, target: str, params: Mapping[str, Any] | None = None) -> Iterator[BaseFault]:
        """Apply one fault for the duration of the block; it is healed in ``finally`` and recorded.

        The states are sampled once more just before, so the history holds what the system looked
        like as the window opened, not up to a sampling interval earlier.
        """
        fault = self.faults.make_fault(kind, target, dict(params or {}))
        if self._sampler is not None and self._sampler.running:
            self._sampler.sample()
        with applied(fault, self.history):
            yield fault

    def run_schedule(self, schedule: Schedule) -> Schedule:
        """Run a fault timeline to its end (heals in ``finally``); return the schedule that really ran."""
        self.schedule = schedule
        ran = ScheduleRunner(schedule, self.faults.make_fault, self.history).run()
        self.schedule = ran
        return ran

    def run(self, stop_timeout: float = 60.0) -> Schedule | None:
        """Run the map: its workload (``playing``) beside its nemesis, until the schedule has run to
        its end (every fault healed, the quiet period over); then the workload is stopped and joined.

        Without a nemesis the workload is not run here: nothing would say when to stop it.
        """
        schedule = self.test.schedule()
        if schedule is None:
            return None
        with self.playing(stop_timeout):
            return self.run_schedule(schedule)

    @contextmanager
    def playing(self, stop_timeout: float = 60.0) -> Iterator[None]:
        """The map's workload plays in a thread for the duration of the block, then is told to stop
        and joined: for a suite whose faults follow the system's own events rather than a timeline."""
        stop = threading.Event()
        crashed: list[BaseException] = []
        workload = self.test.workload
        seeded = getattr(workload, "seeded", None)
        if callable(seeded):  # a workload that draws at random takes the map's one seed
            workload = seeded(self.seed)

        def play() -> None:
            try:
                if workload is not None:
                    workload(self.clients, stop)
            except BaseException as exc:  # a workload bug fails the test below, never silently
                crashed.append(exc)
                self.history.note("the workload crashed", error=f"{type(exc).__name__}: {exc}")

        clients = threading.Thread(target=play, name="workload", daemon=True)
        clients.start()
        try:
            yield
        finally:
            stop.set()
            clients.join(timeout=stop_timeout)
        if crashed:
            raise RuntimeError(f"{self.name}: the workload crashed: {crashed[0]!r}") from crashed[0]
        if clients.is_alive():
            raise TimeoutError(f"{self.name}: the workload did not stop within {stop_timeout:g} s")

    # -- waiting ---------------------------------------------------------------------------------
    def wait_for(self, what: str, condition: Callable[[], T | None], timeout: float, every: float = 0.05) -> T:
        """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while True:
            try:
                value = condition()
                if value:
                    return value
            except Exception as exc:  # a probe or an API call may fail while faults are active
                last_error = f" (last error: {type(exc).__name__}: {exc})"
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {what} did not happen within {timeout:.0f} s{last_error}")
            time.sleep(every)

    def states(self) -> dict[str, str]:
        """The resource states right now, read through the spec's probe."""
        return dict(self.system.probe()() or {})

    # -- judging ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop sampling, then kill every service at once; idempotent.

        Killing, not stopping: by now the run has been judged, and a graceful shutdown of every
        service (closing Kafka clients, committing) cost more than a second per scenario.
        """
        if self._sampler is not None and self._sampler.running:
            self._sampler.stop()
        try:
            self._gather()  # before the kill: whether each service was still alive is evidence
        finally:  # whatever gathering did, no process of this scenario outlives it
            services = list(self.system.services.values())
            for service in services:
                if service.is_running():
                    service.send_signal(signal.SIGKILL)
            for service in services:
                service.kill()
            self.system.close()

    def _gather(self) -> None:
        """Record, once: the suite's own evidence (``gatherers``), which services still run, the
        consumers' positions, the facts on the system's topics and (after message faults) the dead
        letters. Run by ``judge`` and by ``stop``, so a scenario that ended in an error is judged on
        the same evidence as one that finished."""
        if self._gathered or not self.system.services:
            return
        self._gathered = True
        for what, gather in self.gatherers:
            gathering(self.history, what, gather, attempts=1)
        record_services(self.history, self.system.services)
        if self.spec.consumes:
            gathering(self.history, "consumers", lambda: record_consumer_lag(
                self.history, self.harness_access, self.topic_prefix, list(self.spec.consumes)))
        if self.spec.facts:
            mine = [(e["topic"], e["partition"], e["offset"]) for e in injected(self.history)]
            gathering(self.history, "facts", lambda: record_facts(
                self.history, self.spec.facts, self.harness_access, self.topic_prefix, mine))
        audit = self.spec.audit
        if audit is not None and any(e.get("expect") == REFUSED for e in injected(self.history)):
            gathering(self.history, "audit", lambda: record_audit(self.history, audit, self.system.workdir))
        if self.spec.dead_letters is not None and injected(self.history):
            letters = self.spec.dead_letters
            gathering(self.history, "dead_letter", lambda: record_dead_letters(
                self.history, letters, self.harness_access, self.topic_prefix))

    @property
    def harness_access(self) -> KafkaAccess:
        return self.infra.endpoints.harness_access()

    def wait_consumed(self, fault: BaseFault, timeout: float = 30.0) -> dict[str, bool]:
        """Wait until every consumer group of this run has committed past the records ``fault``
        injected (the system has read and decided on each); fail naming the groups that did not."""
        entries = fault.evidence().get("injected") or []
        last: dict[str, bool] = {}

        def moved_past() -> bool:
            nonlocal last
            last = consumed(self.harness_access, entries, self.topic_prefix)
            return bool(last) and all(last.values())

        try:
            self.wait_for(f"consumers past the records of '{fault.name}'", moved_past, timeout, every=0.2)
        except TimeoutError as exc:
            behind = sorted(group for group, done in last.items() if not done) or ["no group read them"]
            raise TimeoutError(f"{exc}; still behind: {', '.join(behind)}") from None
        return last

    def judge(self) -> list[Verdict]:
        """Stop sampling, gather the evidence, run the checks over the history; measure time to recovery."""
        if self._sampler is not None and self._sampler.running:
            self._sampler.stop()
        self._gather()
        self.verdicts = run_checks(self.history, self.invariants, self.checks)
        self.recovery = recovery(self.history, self.invariants)
        return self.verdicts

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]

    def assert_invariants(self) -> None:
        """Judge and fail with every broken invariant's verdict and the replay seed."""
        self.judge()  # again if judged before: events may have been recorded since
        self.asserted = True
        if self.failed:
            lines = "\n".join(f"  - [{v.invariant}] {v.message}" for v in self.failed)
            replay = ""
            if self.schedule is not None:
                replay = (
                    f"\nschedule (seed {self.seed}, replay with --chaos-seed {self.seed}):\n{self.schedule.describe()}"
                )
            raise ScenarioFailed(f"{self.name}: {len(self.failed)} invariant(s) broken\n{lines}{replay}")

    @property
    def logs(self) -> dict[str, Path]:
        return {name: s.log_path for name, s in self.system.services.items() if s.log_path.exists()}
