"""Message faults: hostile or repeated records written into a topic the system consumes.

The target is a topic name as the system's spec names it (``driver-requests``), in this run's
topic prefix. The records go to every partition (a consumer may read only its share) through the
harness's own role, and each kind says what the system must do with them:

- ``dead-letter``: reject it — log it, write a dead-letter record naming it, change nothing, go on
  (malformed, oversized, nested, wrong types);
- ``ignored``: recognise it as already seen and change nothing (duplicated, replayed);
- ``refused``: a well-formed record whose sender is not who it claims (forged): refuse it as a
  rejection is (dead letter, no change) and record the refusal in the system's audit log.

What was injected (topic, partition, offset, the expectation) is the fault's evidence, recorded at
the end of its window; the checks ``rejected-records-dead-lettered`` and ``nothing-believed`` judge
it. The heal is empty: a record once written cannot be taken back, which is exactly the point.
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from chaos.core.history import DEAD_LETTER, DEAD_LETTERED, IGNORED, REFUSED
from chaos.faults.base import BaseFault, FaultError, FaultSpecError, Param
from chaos.infra import records
from chaos.infra.endpoints import KafkaAccess

__all__ = ["DEAD_LETTER", "DEAD_LETTERED", "IGNORED", "REFUSED", "MessageFault"]

TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
SAMPLE_WAIT_S = 10.0
"""How long a kind that needs a sample waits for the system's first record on the topic: a schedule
that injects a second after its workload starts must not fail because the clients' first requests
were still on their way (seen on a loaded machine: a driver's first request 1.2 s after its invoke)."""
SAMPLE_MAX_BYTES = 64 * 1024
"""A sample is a record the system sent (never one the harness wrote: see ``records.INJECTED``); a
larger one would make every variant fail on size alone."""


class MessageFault(BaseFault):
    """Writes ``records()`` into the target topic's partitions; subclasses say what to write."""

    expect: ClassVar[str] = DEAD_LETTER
    needs_sample: ClassVar[bool] = False
    """Kinds that mutate or repeat a real record read one from the topic (or take ``params.sample``)."""
    sample_from: ClassVar[str] = "latest"
    """Which record of the topic is the sample: the ``latest`` one, or the ``earliest`` (a replay)."""

    COMMON: ClassVar[dict[str, Param]] = {
        "sample": Param(None, "a JSON record to mutate or repeat, instead of the topic's latest one", str),
        "sample_wait": Param(SAMPLE_WAIT_S, "seconds to wait for the topic's first record", float, 0, 300),
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.PARAMS = {**cls.PARAMS, **(cls.COMMON if cls.needs_sample else {})}

    def setup(self) -> None:
        if not TOPIC.match(self.target):
            raise FaultSpecError(f"{self.kind}: the target must be a topic name (e.g. 'requests'), got {self.target!r}")
        self.topic = f"{self.ctx.topic_prefix}{self.target}"
        self.injected: list[records.Record] = []
        self.notes: list[str] = []
        """One line per record, in ``records()`` order: what is wrong with it (for the verdicts)."""

    def describe(self) -> str:
        return f"{self.kind} records on {self.target}"

    @property
    def access(self) -> KafkaAccess:
        return self.ctx.infra.endpoints.harness_access()

    def records(self, sample: bytes | None) -> list[tuple[bytes, str]]:
        """The records to write, each with a note saying what is wrong with it."""
        raise NotImplementedError

    def _apply(self) -> None:
        sample = self._sample() if self.needs_sample else None
        made = self.records(sample)
        written = records.write(self.access, self.topic, [value for value, _ in made])
        note = {value: text for value, text in made}
        self.injected = written
        self.notes = [note.get(r.value or b"", "") for r in written]

    def _sample(self) -> bytes:
        given = self.params.get("sample")
        if given:
            return str(given).encode()
        wait = float(self.params["sample_wait"])
        deadline = time.monotonic() + wait
        while not (found := [
            r for r in records.read_all(self.access, self.topic)
            if not r.injected and len(r.value or b"") <= SAMPLE_MAX_BYTES and records.json_object(r.value) is not None
        ]):
            if time.monotonic() > deadline:
                raise FaultError(
                    f"{self.name}: no JSON record on {self.topic} to start from within {wait:g} s; let "
                    "the system send one first, or give params.sample"
                )
            time.sleep(0.2)
        by_time = sorted(found, key=lambda r: (r.timestamp_ms or 0, r.offset))  # across partitions
        chosen = by_time[0] if self.sample_from == "earliest" else by_time[-1]
        return chosen.value or b""

    def evidence(self) -> dict[str, Any]:
        return {"injected": [
            {"topic": r.topic, "partition": r.partition, "offset": r.offset, "expect": self.expect,
             "bytes": len(r.value or b""), "note": note}
            for r, note in zip(self.injected, self.notes, strict=True)
        ]}


def leaves(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every scalar in a JSON document with its path, in document order."""
    if isinstance(document, dict):
        return [leaf for key, value in document.items() for leaf in leaves(value, (*path, key))]
    if isinstance(document, list):
        return [leaf for i, value in enumerate(document) for leaf in leaves(value, (*path, i))]
    return [(path, document)]


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``document`` with the scalar at ``path`` replaced."""
    if not path:
        return value
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[path[0]] = replaced(document[path[0]], path[1:], value)
    return copy
