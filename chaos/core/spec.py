"""The system-under-test spec: everything the harness needs to know about a system, and nothing more.

A spec names the system's services (command, environment, which Kafka client role each uses, how
to tell it is ready), how to read its resources' states (a probe), and the invariants it promises
(``InvariantSpec``). The harness runs any system given a spec, so another team's services need a new
spec, not a change to ``chaos/``.

Commands and environment values are templates: ``{bootstrap}`` (the bootstrap servers of the
service's own role, i.e. only the Toxiproxy proxies of that role), ``{topic_prefix}``, ``{db}`` and
``{workdir}``, plus anything the caller adds; ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import string
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chaos.checks.params import InvariantSpec
from chaos.core.history import StateProbe

ReadyCheck = Callable[[], bool]
PLACEHOLDERS = ("bootstrap", "topic_prefix", "db", "workdir")

__all__ = [
    "PLACEHOLDERS",
    "InvariantSpec",
    "ProbeSpec",
    "Readiness",
    "ServiceSpec",
    "SpecError",
    "SqliteStateProbe",
    "SystemSpec",
    "format_placeholders",
]


class SpecError(ValueError):
    """A spec is inconsistent or a template cannot be filled in; the message says where."""


def format_placeholders(template: str, values: Mapping[str, str], where: str = "template") -> str:
    """Fill ``{name}`` placeholders, naming the unknown one and the known ones on error."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise SpecError(
            f"{where}: malformed template {template!r} ({exc}); write literal braces as {{{{ }}}}"
        ) from None
    for name in names:
        if name not in values:
            known = ", ".join(sorted(values)) or "none"
            raise SpecError(
                f"{where}: unknown placeholder {{{name}}} in {template!r}; known placeholders: {known}"
            )
    return template.format_map(values)


# -- readiness ---------------------------------------------------------------------------------------
def http_ready(url: str, timeout: float = 1.0) -> ReadyCheck:
    """Ready when a GET answers with a status below 400."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return int(response.status) < 400
        except OSError:
            return False

    return check


def tcp_ready(host: str, port: int, timeout: float = 1.0) -> ReadyCheck:
    """Ready when a TCP connection is accepted."""

    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            return False

    return check


def log_ready(path: Path, text: str) -> ReadyCheck:
    """Ready once ``text`` appears in the service's log (for services with nothing to connect to)."""

    def check() -> bool:
        try:
            return text in path.read_text(errors="replace")
        except OSError:
            return False

    return check


@dataclass(frozen=True)
class Readiness:
    """A readiness probe, from a callable or one of the forms ``"http GET URL"``, ``"tcp PORT"``,
    ``"tcp HOST:PORT"`` and ``"log line TEXT"`` (targets may hold placeholders)."""

    kind: str
    target: str = ""
    call: ReadyCheck | None = None

    FORMS = ("http GET <url>", "tcp <port>", "tcp <host>:<port>", "log line <text>")

    @classmethod
    def parse(cls, ready: str | ReadyCheck, where: str = "ready") -> Readiness:
        if callable(ready):
            return cls("call", call=ready)
        words = ready.split(None, 2)
        if len(words) == 3 and words[0] == "http" and words[1].upper() == "GET":
            return cls("http", words[2])
        if len(words) == 2 and words[0] == "tcp":
            return cls("tcp", words[1])
        if len(words) == 3 and words[:2] == ["log", "line"]:
            return cls("log", words[2])
        raise SpecError(
            f"{where}: cannot read readiness {ready!r}; use a callable or one of: {', '.join(cls.FORMS)}"
        )

    def check(self, log_path: Path | None = None, values: Mapping[str, str] | None = None) -> ReadyCheck:
        """The probe itself, with placeholders in the target filled from ``values``."""
        if self.call is not None:
            return self.call
        target = format_placeholders(self.target, values or {}, f"readiness {self.kind}")
        if self.kind == "http":
            return http_ready(target)
        if self.kind == "log":
            if log_path is None:
                raise SpecError("readiness 'log line' needs the service's log file")
            return log_ready(log_path, target)
        host, _, port = target.rpartition(":")
        if not port.isdigit():
            raise SpecError(f"readiness 'tcp {target}': the port must be a number")
        return tcp_ready(host or "127.0.0.1", int(port))


# -- services ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServiceSpec:
    """One process of the system: its command, environment, Kafka role and readiness.

    ``role`` names the Kafka client role whose proxies the service must use (None: it does not talk
    to Kafka); faults on that role's links hit exactly this service.
    """

    name: str
    argv: Sequence[str]
    role: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ready: str | ReadyCheck | None = None
    ready_timeout: float = 60.0

    def __post_init__(self) -> None:
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

    def ready_check(
        self, log_path: Path | None = None, values: Mapping[str, str] | None = None
    ) -> ReadyCheck | None:
        if self.ready is None:
            return None
        return Readiness.parse(self.ready, f"service {self.name!r}").check(log_path, values)


# -- probes ------------------------------------------------------------------------------------------
class SqliteStateProbe:
    """Reads ``(resource, state)`` rows with an SQL query on a SQLite file, read-only, per call.

    Opening per call keeps no lock or snapshot between samples, and read-only mode means a probe can
    never change what it observes. The system may not have created its database yet, or may hold a
    write lock: a missing file reads as "no resources yet" and a locked or half-created one as
    "cannot tell this time" (None), which the sampler skips.
    """

    def __init__(self, path: Path | str, query: str, timeout: float = 0.5) -> None:
        self.path, self.query, self.timeout = Path(path), query, timeout

    def __call__(self) -> dict[str, str] | None:
        if not self.path.exists():
            return {}
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=self.timeout)
        except sqlite3.Error:
            return None
        try:
            rows = db.execute(self.query).fetchall()
        except sqlite3.Error:
            return None
        finally:
            with contextlib.suppress(sqlite3.Error):
                db.close()
        return {str(row[0]): str(row[1]) for row in rows}


@dataclass(frozen=True)
class ProbeSpec:
    """How to read resource states: an SQL ``query`` on the SQLite file ``db`` (a template, by
    default ``{db}``), or a ``factory`` that builds any probe from the placeholder values."""

    query: str | None = None
    db: str = "{db}"
    factory: Callable[[Mapping[str, str]], StateProbe] | None = None
    timeout: float = 0.5

    def __post_init__(self) -> None:
        if (self.query is None) == (self.factory is None):
            raise SpecError("a probe needs exactly one of 'query' (SQL on the db file) or 'factory'")

    def build(self, values: Mapping[str, str]) -> StateProbe:
        if self.factory is not None:
            return self.factory(values)
        return SqliteStateProbe(
            format_placeholders(self.db, values, "probe db"), self.query or "", self.timeout
        )


@dataclass(frozen=True)
class SystemSpec:
    """A whole system under test: its services, its state probe and its invariants."""

    name: str
    services: Sequence[ServiceSpec]
    probe: ProbeSpec | None = None
    invariants: InvariantSpec = field(default_factory=InvariantSpec)

    def __post_init__(self) -> None:
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
    def roles(self) -> list[str]:
        """The Kafka client roles the system uses: each gets its own proxies."""
        return sorted({service.role for service in self.services if service.role is not None})
