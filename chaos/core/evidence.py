"""What the harness gathers from the running system before judging, beside the sampled states.

- ``services``: whether each of the system's processes is still running (and its exit code if
  not). A loop that died takes its process down or leaves it deaf; either way the checks must hear
  of it, and a pid alone says nothing once the harness has killed everything.
- ``dead_letter``: every record the system's dead-letter topic holds, with the coordinates of the
  record it rejected, so that each injected record can be accounted for.
- ``audit``: every entry of the system's audit logs, so that each forged record can be found refused.

Both are recorded in the history, so ``evchaos check`` judges a saved run the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chaos.core.facts import dig
from chaos.core.history import DEAD_LETTERED, History
from chaos.core.spec import AuditSpec, DeadLetterSpec
from chaos.infra import kafka_admin, records
from chaos.infra.endpoints import KafkaAccess
from chaos.infra.service import Service


def gathering(history: History, what: str, gather: Callable[[], object], attempts: int = 3) -> None:
    """Run ``gather``, retried a few times (right after a broker fault a coordinator may still be
    loading); if it still fails, an ``evidence_error`` event says so, and the checks that need that
    evidence fail on it instead of passing on nothing."""
    for attempt in range(1, attempts + 1):
        try:
            gather()
            return
        except Exception as exc:
            if attempt == attempts:
                history.record("evidence_error", what=what, error=f"{type(exc).__name__}: {exc}")
                return
            time.sleep(0.5 * attempt)


def record_services(history: History, services: Mapping[str, Service]) -> None:
    """One ``services`` event: name -> running, and the exit code of a process that ended."""
    states: dict[str, dict[str, Any]] = {}
    for name, service in services.items():
        running = service.is_running()
        states[name] = {"running": running, "exit": None if running else service.exit_code()}
    history.record("services", services=states)


def injected(history: History) -> list[dict[str, Any]]:
    """Every record a message fault injected in this run (the faults' evidence)."""
    return [entry for e in history.events if e["type"] == "fault_end" for entry in e.get("injected") or ()]


def record_dead_letters(
    history: History, spec: DeadLetterSpec, access: KafkaAccess, topic_prefix: str, timeout: float = 10.0
) -> int:
    """Read the dead-letter topic and record each record as a ``dead_letter`` event; returns how many.

    Dead letters may be sent a moment after the offsets that rejected them were committed (Central
    sends its replies after its transaction), so this waits, up to ``timeout``, until every injected
    record that should be dead-lettered is, or the topic stops growing past the deadline.
    """
    expected = {
        (e["topic"], e["partition"], e["offset"]) for e in injected(history) if e.get("expect") in DEAD_LETTERED
    }
    deadline = time.monotonic() + timeout
    while True:
        found = records.read_all(access, f"{topic_prefix}{spec.topic}")
        letters = [spec.read(doc) for r in found if (doc := records.json_object(r.value)) is not None]
        seen = {(d["topic"], d["partition"], d["offset"]) for d in letters}
        if expected <= seen or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for letter in letters:
        fields: dict[str, Any] = {key: value for key, value in letter.items() if key != "t"}
        history.record("dead_letter", **fields)
    return len(letters)


def record_audit(history: History, spec: AuditSpec, workdir: Path) -> int:
    """Record every entry of the system's audit logs (``spec.glob`` in the work folder) as an
    ``audit`` event: where the refused input was read, the outcome, who it claimed to be; returns
    how many. Read after the services stopped, so each log is complete."""
    count = 0
    for path in sorted(workdir.glob(spec.glob)):
        for line in path.read_text(errors="replace").splitlines():
            entry = records.json_object(line.encode())
            if entry is None:
                continue
            history.record("audit", log=path.name, where=dig(entry, spec.where_field),
                           outcome=dig(entry, spec.outcome_field), actor=dig(entry, spec.actor_field))
            count += 1
    return count


def record_consumer_lag(
    history: History, access: KafkaAccess, topic_prefix: str, topics: list[str], timeout: float = 10.0
) -> dict[str, dict[str, int]]:
    """One ``consumers`` event: each of the run's consumer groups with what it had not committed, of
    what its topics held when the run ended, once every group caught up or ``timeout`` passed.

    Liveness judged by what a consumer does (its committed position reaches its topics' ends), not by
    its pid: a consumer whose thread died, or that stalls on a record, stays behind for good. The
    ends are taken once, first: heartbeats keep arriving, so "no lag at this instant" would flake.
    """
    full = [f"{topic_prefix}{topic}" for topic in topics]
    deadline = time.monotonic() + timeout

    def positions() -> tuple[dict[str, kafka_admin.Offsets], kafka_admin.Offsets]:
        """Retried until the deadline: after a broker's heal its coordinator may still be loading."""
        while True:
            try:
                return kafka_admin.positions(access.bootstrap, topic_prefix, full, access.plain)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    committed, goal = positions()
    while True:
        behind = {
            group: {where: goal[where] - offset for where, offset in parts.items() if goal.get(where, 0) > offset}
            for group, parts in committed.items()
        }
        if not any(behind.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
        committed, _ = positions()
    history.record("consumers", groups=dict(sorted(behind.items())))
    return behind


def consumed(access: KafkaAccess, entries: list[dict[str, Any]], group_prefix: str) -> dict[str, bool]:
    """Group -> whether it has committed past every injected record on the topics it reads."""
    wanted = [records.Record(e["topic"], e["partition"], e["offset"], None) for e in entries]
    return records.committed_past(access, wanted, group_prefix)
