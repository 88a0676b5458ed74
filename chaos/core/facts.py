"""Facts read back from the system's own topics: what each component sent and Kafka acknowledged.

A record in a topic's log is, by definition, a message its producer sent and Kafka acknowledged.
Read once at the end of a run, those records are the evidence the data-plane checks compare with
the consumers' state (kafkatest's "acked is a subset of consumed"): the quantities a source metered
against what its sinks billed, every acknowledged request against the effect or answer it must
have had, every effect against the one it must not be repeated as.

A system's spec says which records are facts (``FactSpec``: topic, a filter, where its fields are);
nothing here knows a message format. Each fact becomes a history event of the spec's ``event``
type, placed at the record's timestamp (its producer's clock: the moment it was sent), tagged
``source: topic NAME``. Records the harness injected itself are never facts (a duplicate written
by a message fault is the harness's, not the system's), and a record repeated under the same id
(a producer's retry) is one fact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.core.history import History
from chaos.infra import records
from chaos.infra.endpoints import KafkaAccess


def dig(document: object, path: str) -> object:
    """The value at a dotted ``path`` of a JSON document (None where it has no such field)."""
    for part in path.split("."):
        document = document.get(part) if isinstance(document, Mapping) else None
    return document


@dataclass(frozen=True)
class FactSpec:
    """Which records of ``topic`` are facts of type ``event``, and where their fields are.

    ``where``: dotted path -> the value a record must have there (e.g. ``{"type": "ticket"}``);
    ``fields``: event field -> dotted path in the record (e.g. ``{"session": "payload.session_id"}``);
    ``id``: the dotted path of the record's own id, so a retried record counts once.
    ``topic`` ending in ``*`` names every topic that starts with the rest (``events.*``: a topic per
    client), found when the facts are read.
    """

    topic: str
    event: str
    where: Mapping[str, object] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    id: str | None = None

    def covers(self, topic: str, topic_prefix: str) -> bool:
        """Whether ``topic`` (as the broker names it, prefixed) is one this spec reads."""
        name = f"{topic_prefix}{self.topic}"
        return topic.startswith(name[:-1]) if name.endswith("*") else topic == name

    def matches(self, document: Mapping[str, Any]) -> bool:
        return all(dig(document, path) == value for path, value in self.where.items())

    def read(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return {name: dig(document, path) for name, path in self.fields.items()}


def facts_of(
    specs: Sequence[FactSpec], found: Iterable[records.Record], topic_prefix: str,
    injected: Iterable[tuple[str, int, int]] = (),
) -> list[tuple[float | None, str, dict[str, Any]]]:
    """(epoch seconds, event type, fields) for every record that is a fact, in log order."""
    skip = set(injected)
    seen: set[tuple[str, object]] = set()
    facts: list[tuple[float | None, str, dict[str, Any]]] = []
    by_topic: dict[str, list[FactSpec]] = {}
    for record in found:
        if record.topic not in by_topic:
            by_topic[record.topic] = [spec for spec in specs if spec.covers(record.topic, topic_prefix)]
        if record.injected or (record.topic, record.partition, record.offset) in skip:
            continue
        document = records.json_object(record.value)
        if document is None:
            continue
        for spec in by_topic.get(record.topic, ()):
            if not spec.matches(document):
                continue
            ident = None if spec.id is None else dig(document, spec.id)
            if ident is not None:  # a record without an id cannot be told from another: each counts
                key = (spec.event, ident)
                if key in seen:
                    continue
                seen.add(key)
            when = None if record.timestamp_ms is None else record.timestamp_ms / 1000.0
            facts.append((when, spec.event, {**spec.read(document), "source": f"topic {spec.topic}"}))
    return facts


def record_facts(
    history: History, specs: Sequence[FactSpec], access: KafkaAccess, topic_prefix: str,
    injected: Iterable[tuple[str, int, int]] = (),
) -> dict[str, int]:
    """Read every topic the specs name (one consumer), record each fact; one ``facts`` event counts them."""
    topics = sorted({f"{topic_prefix}{spec.topic}" for spec in specs})
    found = records.read_all(access, topics)
    counts: Counter[str] = Counter()
    for when, event, fields in facts_of(specs, found, topic_prefix, injected):
        history.record(event, t=None if when is None else history.clock.at(when), **fields)
        counts[event] += 1
    history.record("facts", counts=dict(sorted(counts.items())), records=len(found))
    return dict(counts)
