"""When a service counts as started: an HTTP answer, an open TCP port, a line in its log, a consumer
group that has its partitions, or any callable.

A spec names readiness as data (``"tcp {port}"``) so that a system's spec stays a list of facts;
``Readiness`` turns that into the probe the process lifecycle polls (``Service.ready``).
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chaos.core.templates import SpecError, format_placeholders
from chaos.infra import kafka_admin
from chaos.infra.endpoints import KafkaAccess
from chaos.infra.service import ReadyCheck, since_last_start

__all__ = ["Readiness", "ReadyCheck", "group_ready", "http_ready", "log_ready", "tcp_ready"]


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
    """Ready once ``text`` appears in the service's log (for services with nothing to connect to),
    written by the process that runs now: the log is kept across restarts, and the line an earlier
    incarnation wrote must not make a restarted service count as ready before it is."""

    def check() -> bool:
        try:
            return text in since_last_start(path.read_text(errors="replace"))
        except OSError:
            return False

    return check


class GroupReady:
    """Ready once consumer group ``group`` is stable with partitions assigned to a member that joined
    since the service was started: it is in its group and consuming, which no log line proves (a
    consumer logs "started" before it has joined).

    A SIGKILLed consumer stays a member, assignment and all, until its session times out, so the
    members present at each start (``before_start``) do not count: a restarted service, or the
    next scenario's service of a fixed-name group, is ready only once its own member is in. Asked
    through the harness's own access, not the service's links, so it also answers while a fault
    cuts the service off (a start-order scenario); the coordinator is looked up once per start and
    again after an error, since polling is frequent.
    """

    def __init__(self, kafka: KafkaAccess, group: str) -> None:
        self.kafka, self.group = kafka, group
        self._before: frozenset[str] = frozenset()
        self._at: str | None = None

    def _state(self) -> kafka_admin.GroupState:
        try:
            if self._at is None:
                self._at = kafka_admin.coordinator(self.kafka.bootstrap, self.group, self.kafka.plain)
            return kafka_admin.describe_group(self.kafka.bootstrap, self.group, self.kafka.plain, at=self._at)
        except OSError:
            self._at = None  # the coordinator may have moved (a broker fault): ask again next time
            raise

    def before_start(self) -> None:
        try:
            self._before = frozenset(member.member_id for member in self._state().members)
        except OSError:  # no cluster or no coordinator now: nobody to discount
            self._before = frozenset()

    def __call__(self) -> bool:
        state = self._state()
        return state.state == "Stable" and any(
            any(member.assignment.values()) for member in state.members if member.member_id not in self._before)


def group_ready(kafka: KafkaAccess, group: str) -> ReadyCheck:
    """``GroupReady``: a readiness check by consumer group."""
    return GroupReady(kafka, group)


@dataclass(frozen=True)
class Readiness:
    """A readiness probe, from a callable or one of the forms ``"http GET URL"``, ``"tcp PORT"``,
    ``"tcp HOST:PORT"``, ``"log line TEXT"`` and ``"group NAME"`` (a consumer group with partitions
    assigned; targets may hold placeholders)."""

    kind: str
    target: str = ""
    call: ReadyCheck | None = None

    FORMS = ("http GET <url>", "tcp <port>", "tcp <host>:<port>", "log line <text>", "group <consumer group>")

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
        if len(words) == 2 and words[0] == "group":
            return cls("group", words[1])
        raise SpecError(
            f"{where}: cannot read readiness {ready!r}; use a callable or one of: {', '.join(cls.FORMS)}"
        )

    def check(self, log_path: Path | None = None, values: Mapping[str, str] | None = None,
              kafka: KafkaAccess | None = None) -> ReadyCheck:
        """The probe itself, with placeholders in the target filled from ``values``; ``kafka`` is how
        the harness reaches the cluster (for ``group``)."""
        if self.call is not None:
            return self.call
        target = format_placeholders(self.target, values or {}, f"readiness {self.kind}")
        if self.kind == "http":
            return http_ready(target)
        if self.kind == "log":
            if log_path is None:
                raise SpecError("readiness 'log line' needs the service's log file")
            return log_ready(log_path, target)
        if self.kind == "group":
            if kafka is None:
                raise SpecError("readiness 'group' asks the cluster through the harness's own role, and there is "
                                "none here (run it in a scenario, on a cluster with the 'harness' role)")
            return group_ready(kafka, target)
        host, _, port = target.rpartition(":")
        if not port.isdigit():
            raise SpecError(f"readiness 'tcp {target}': the port must be a number")
        return tcp_ready(host or "127.0.0.1", int(port))
