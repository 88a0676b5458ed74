"""The system-under-test spec: everything the harness needs to know about a system, and nothing more.

A spec names the system's services (command, environment, which Kafka client role each uses, how
to tell it is ready), how to read its resources' states (a probe), the invariants it promises
(``InvariantSpec``) and the checks that judge them, and how its states look in a report. The
harness runs any system given a spec, so another team's services need a new spec, not a change
to ``chaos/``.

Commands, environment values and working directories are templates: ``{bootstrap}`` (the
bootstrap servers of the service's own role, i.e. only the Toxiproxy proxies of that role),
``{topic_prefix}``, ``{db}`` and ``{workdir}``, plus anything the caller adds; ``{{`` and ``}}`` are
literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chaos.checks.params import InvariantSpec
from chaos.core.facts import FactSpec, dig
from chaos.core.probes import ProbeSpec, SqliteStateProbe
from chaos.core.readiness import Readiness, ReadyCheck, group_ready, http_ready, log_ready, tcp_ready
from chaos.core.templates import PLACEHOLDERS, SpecError, format_placeholders
from chaos.infra.endpoints import KafkaAccess
from chaos.infra.principals import Grant

SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""What a service may be called: its name names its log, pid and failpoints files and its principal."""
TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
"""A legal Kafka topic name."""

__all__ = [
    "PLACEHOLDERS",
    "DeadLetterSpec",
    "FactSpec",
    "InvariantSpec",
    "ProbeSpec",
    "Readiness",
    "ServiceSpec",
    "SpecError",
    "SqliteStateProbe",
    "SystemSpec",
    "format_placeholders",
    "group_ready",
    "http_ready",
    "log_ready",
    "tcp_ready",
]


@dataclass(frozen=True)
class ServiceSpec:
    """One process of the system: its command, environment, Kafka role and readiness.

    ``role`` names the Kafka client role whose proxies the service must use (None: it does not talk
    to Kafka); faults on that role's links hit exactly this service. ``grants`` are what its own
    principal may do on a secured cluster (resource names may use placeholders, ``{topic_prefix}``
    above all); it gets nothing else, and ``{kafka_user}`` / ``{kafka_password}`` in its command or
    environment say who it is. ``cwd`` is the folder it runs in (a template; relative to the
    scenario's work folder; None: the work folder itself), for a system that reads files next to its
    code; its log and pid file stay in the work folder either way.
    """

    name: str
    argv: Sequence[str]
    role: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ready: str | ReadyCheck | None = None
    ready_timeout: float = 60.0
    grants: Sequence[Grant] = ()
    cwd: str | None = None

    def __post_init__(self) -> None:
        if not SERVICE_NAME.fullmatch(self.name):
            raise SpecError(f"service name {self.name!r}: use letters, digits, '.', '_' and '-' (it names the "
                            f"service's log and pid files and its Kafka principal), starting with a letter or digit")
        if not self.argv:
            raise SpecError(f"service {self.name!r}: argv is empty; give the command to run")
        if self.ready is not None:
            Readiness.parse(self.ready, f"service {self.name!r}")

    def placeholders(
        self, bootstrap: Callable[[str], str] | Mapping[str, str] | None = None, **values: str
    ) -> dict[str, str]:
        """The values for this service's templates: ``{bootstrap}`` is its own role's bootstrap.

        ``bootstrap`` maps a role to its bootstrap servers (``Endpoints.bootstrap`` fits).
        """
        filled = {key: str(value) for key, value in values.items()}
        if self.role is not None and bootstrap is not None:
            lookup = bootstrap.__getitem__ if isinstance(bootstrap, Mapping) else bootstrap
            try:
                filled["bootstrap"] = lookup(self.role)
            except KeyError as exc:
                raise SpecError(
                    f"service {self.name!r} uses Kafka role {self.role!r}: {exc.args[0]}"
                ) from None
        return filled

    def render(self, values: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
        """The command line and environment with every placeholder filled in."""
        argv = [format_placeholders(arg, values, f"service {self.name!r} argv") for arg in self.argv]
        env = {
            key: format_placeholders(val, values, f"service {self.name!r} env {key}")
            for key, val in self.env.items()
        }
        return argv, env

    def workdir(self, run_folder: Path, values: Mapping[str, str]) -> Path | None:
        """The folder the process runs in (``cwd`` filled in, relative to ``run_folder``), or None."""
        if self.cwd is None:
            return None
        return run_folder / format_placeholders(self.cwd, values, f"service {self.name!r} cwd")

    def ready_check(
        self, log_path: Path | None = None, values: Mapping[str, str] | None = None,
        kafka: KafkaAccess | None = None,
    ) -> ReadyCheck | None:
        if self.ready is None:
            return None
        return Readiness.parse(self.ready, f"service {self.name!r}").check(log_path, values, kafka)


@dataclass(frozen=True)
class DeadLetterSpec:
    """Where a system writes what it rejected, and where in each dead-letter record (a JSON object)
    it names the rejected record: dotted paths to its topic, partition, offset and the reason."""

    topic: str
    topic_field: str = "topic"
    partition_field: str = "partition"
    offset_field: str = "offset"
    reason_field: str = "reason"

    def read(self, document: Mapping[str, object]) -> dict[str, object]:
        """The rejected record's coordinates and the reason, from one dead-letter record."""
        fields = {"topic": self.topic_field, "partition": self.partition_field,
                  "offset": self.offset_field, "reason": self.reason_field}
        return {name: dig(document, path) for name, path in fields.items()}


SetupStep = Sequence[str] | Callable[[Mapping[str, str]], None]
"""One step of ``SystemSpec.setup`` or ``teardown``: a command line (templates) or a callable of the
placeholder values."""


@dataclass(frozen=True)
class AuditSpec:
    """Where a system records the input it refused: JSON-lines files matching ``glob`` in the work
    folder, each entry naming where the input was read (``where_field``: ``topic:partition:offset``),
    the outcome and the identity it claimed (dotted paths)."""

    glob: str = "*.audit"
    where_field: str = "source"
    outcome_field: str = "outcome"
    actor_field: str = "actor"


Forger = Callable[[Mapping[str, str], str], Sequence[tuple[bytes, str]]]
"""(placeholder values, topic) -> forged records for that topic, each with what it pretends."""


@dataclass(frozen=True)
class SystemSpec:
    """A whole system under test: its services, its state probe, its invariants and their checks.

    - ``checks``: the rules a scenario of this system runs unless it names its own (``None``: every
      registered check). A rule that does not apply to a system would only pass vacuously.
    - ``state_colors``: state -> colour for the timeline, in legend order (green for fine, amber for
      waiting, red for broken reads well); other states get colours from a fixed palette.
    - ``consumes``: the topics (without the run's prefix) the system's consumers read: message
      faults cover each of them, so a suite derives its cases from here instead of a list of its own.
    - ``dead_letters``: where the system records what it rejected (``None``: it does not say).
    - ``facts``: which records of its topics are evidence for the data-plane checks (what was
      metered, billed, requested, answered: see ``chaos.core.facts``), read once at the end.
    - ``forgeries``: the records an attacker would write into each consumed topic, each claiming an
      identity it cannot prove (``inject-forged`` writes them); only the system knows its message
      types and identities, so it builds them, from its live state (the placeholder values).
    - ``audit``: where the system records what it refused (``None``: it keeps no audit log).
    - ``setup``: what must exist before any service starts (a fresh database from the system's own
      init code, keys enrolled), run in order in the scenario's work folder: a command (argv, with
      placeholders) that must exit 0, or a Python callable given the placeholder values. A failed
      step fails the scenario with its output, before anything runs.
    - ``teardown``: the same, run after the scenario's services are stopped (files to keep as
      evidence, a database to drop); a failed step fails the test with its output, after the rest
      of the tear-down has run.
    - ``fixed_topics``: for a system whose topic names are fixed (name -> partitions), so a run prefix
      cannot isolate its scenarios: ``{topic_prefix}`` is then empty, and each scenario deletes these
      topics and creates them again before anything starts, so none reads another's records
      (scenarios on one cluster run one after the other; parallel workers have a cluster each).
    - ``preload``: modules a Python system's services import (their heavy part: the Kafka client,
      the system's own packages). Each harness process imports them once in a pre-imported
      interpreter and forks every service whose command is ``<that python> -m MODULE`` from it,
      instead of paying each service's imports again (``chaos.infra.zygote``). A preloaded module
      must not read its process's environment as it is imported (the service gets its own only
      after the fork). Empty: every service is started afresh; ``--chaos-preload off`` does that
      for one run.
    """

    name: str
    services: Sequence[ServiceSpec]
    probe: ProbeSpec | None = None
    invariants: InvariantSpec = field(default_factory=InvariantSpec)
    checks: Sequence[str] | None = None
    state_colors: Mapping[str, str] = field(default_factory=dict)
    consumes: Sequence[str] = ()
    dead_letters: DeadLetterSpec | None = None
    facts: Sequence[FactSpec] = ()
    setup: Sequence[SetupStep] = ()
    forgeries: Forger | None = None
    audit: AuditSpec | None = None
    teardown: Sequence[SetupStep] = ()
    fixed_topics: Mapping[str, int] = field(default_factory=dict)
    preload: Sequence[str] = ()

    def __post_init__(self) -> None:
        for topic, partitions in self.fixed_topics.items():
            if not TOPIC_NAME.fullmatch(topic) or type(partitions) is not int or partitions < 1:
                raise SpecError(f"system {self.name!r}: fixed_topics maps a topic name to its partition count "
                                f"(1 or more); got {topic!r}: {partitions!r}")
        names = [service.name for service in self.services]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise SpecError(f"system {self.name!r}: service name(s) used twice: {', '.join(duplicates)}")

    def service(self, name: str) -> ServiceSpec:
        for service in self.services:
            if service.name == name:
                return service
        known = ", ".join(service.name for service in self.services)
        raise SpecError(f"system {self.name!r} has no service {name!r}; services: {known}")

    @property
    def file_stem(self) -> str:
        """The system's name as a file name (``{db}`` is ``<workdir>/<file_stem>.db``): any run of
        characters a path could trip on (``/``, spaces) becomes one ``-``."""
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.name).strip(".-") or "system"

    @property
    def roles(self) -> tuple[str, ...]:
        """The Kafka client roles the system uses, in the order its services name them: each gets its
        own listener and proxies (the ``chaos_roles`` fixture)."""
        return tuple(dict.fromkeys(service.role for service in self.services if service.role is not None))
