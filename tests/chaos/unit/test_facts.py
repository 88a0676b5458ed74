"""``chaos.core.facts`` on hand-made records: which records are facts, the fields read from them,
and the ones never counted (the harness's own injections, a producer's retries, non-JSON values).

No Kafka: ``facts_of`` takes the records directly, and ``record_facts`` is given them in place of a
broker read.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaos.core import facts
from chaos.core.facts import FactSpec, dig, facts_of, record_facts
from chaos.core.history import History
from chaos.infra.records import Record

PREFIX = "run7."
TS = 1_714_564_805_250  # 2024-05-01T12:00:05.250Z, in milliseconds
TELEMETRY = FactSpec("cp-events", "metered", where={"type": "telemetry"}, id="message_id",
                     fields={"session": "payload.session_id", "quantity": "payload.kwh", "resource": "payload.cp_id"})
COMPLETED = FactSpec("cp-events", "completion_sent", where={"type": "charging_completed"}, id="message_id",
                     fields={"session": "payload.session_id"})
COMPLETED_METERED = FactSpec("cp-events", "metered", where={"type": "charging_completed"}, id="message_id",
                             fields={"session": "payload.session_id", "quantity": "payload.kwh"})


def message(kind: str, message_id: str | None, **payload: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"type": kind, "payload": payload}
    if message_id is not None:
        document["message_id"] = message_id
    return document


def rec(offset: int, value: dict[str, Any] | bytes | None, topic: str = "cp-events", partition: int = 0,
        timestamp_ms: int | None = TS) -> Record:
    """A record on ``PREFIX + topic``; a dict value is written as JSON bytes."""
    raw = json.dumps(value).encode() if isinstance(value, dict) else value
    return Record(f"{PREFIX}{topic}", partition, offset, raw, timestamp_ms=timestamp_ms)


def telemetry(offset: int, message_id: str | None = None, kwh: float = 1.5, **more: Any) -> Record:
    return rec(offset, message("telemetry", message_id or f"m{offset}", session_id="s1", kwh=kwh, cp_id="CP_1"),
               **more)


def test_dig_follows_dotted_paths_and_gives_none_where_there_is_no_such_field() -> None:
    document = {"type": "ticket", "payload": {"ticket": {"id": "T1", "kwh": 0}, "list": [1]}}
    assert dig(document, "type") == "ticket"
    assert dig(document, "payload.ticket.id") == "T1"
    assert dig(document, "payload.ticket.kwh") == 0
    assert dig(document, "payload.missing.id") is None
    assert dig(document, "payload.list.0") is None, "a list is not walked"
    assert dig(document, "type.inner") is None
    assert dig("not a mapping", "type") is None


def test_a_matching_record_becomes_a_fact_with_its_fields_time_and_source() -> None:
    [(when, event, fields)] = facts_of([TELEMETRY], [telemetry(3)], PREFIX)
    assert event == "metered" and when == pytest.approx(TS / 1000.0)
    assert fields == {"session": "s1", "quantity": 1.5, "resource": "CP_1", "source": "topic cp-events"}


def test_where_filters_records_on_every_path_given() -> None:
    spec = FactSpec("cp-events", "fault_seen", where={"type": "status", "payload.state": "fault"})
    found = [rec(0, message("status", "a", state="fault")), rec(1, message("status", "b", state="charging")),
             rec(2, message("telemetry", "c", state="fault")), rec(3, {"payload": {"state": "fault"}})]
    assert [fields for _, _, fields in facts_of([spec], found, PREFIX)] == [{"source": "topic cp-events"}]
    everything = FactSpec("cp-events", "any")
    assert len(facts_of([everything], found, PREFIX)) == 4, "no filter: every JSON object is a fact"


def test_a_field_missing_from_the_record_is_none_and_a_missing_timestamp_is_no_time() -> None:
    record = rec(0, message("telemetry", "m0", session_id="s1"), timestamp_ms=None)
    [(when, _, fields)] = facts_of([TELEMETRY], [record], PREFIX)
    assert when is None and fields["quantity"] is None and fields["resource"] is None


def test_one_record_may_be_several_facts_of_different_types() -> None:
    completed = rec(4, message("charging_completed", "m4", session_id="s1", kwh=2.25))
    found = facts_of([TELEMETRY, COMPLETED, COMPLETED_METERED], [completed, telemetry(5)], PREFIX)
    assert [(event, fields.get("quantity")) for _, event, fields in found] == [
        ("completion_sent", None), ("metered", 2.25), ("metered", 1.5)
    ]


def test_records_the_harness_injected_are_never_facts() -> None:
    found = [telemetry(0), telemetry(1), telemetry(1, message_id="other", partition=1)]
    injected = [(f"{PREFIX}cp-events", 0, 1), (f"{PREFIX}cp-events", 3, 0)]
    kept = facts_of([TELEMETRY], found, PREFIX, injected)
    assert len(kept) == 2, "only partition 0 offset 1 was injected; the same offset elsewhere is the system's"
    assert len(facts_of([TELEMETRY], found, PREFIX, [("cp-events", 0, 1)])) == 3, "coordinates use the full name"


def test_a_record_repeated_under_the_same_id_is_one_fact() -> None:
    retried = [telemetry(0, message_id="m1"), telemetry(1, message_id="m1", kwh=9.0), telemetry(2, message_id="m2")]
    found = facts_of([TELEMETRY], retried, PREFIX)
    assert [fields["quantity"] for _, _, fields in found] == [1.5, 1.5], "the first copy is kept, in log order"
    without_ids = FactSpec("cp-events", "metered", where={"type": "telemetry"}, fields={"q": "payload.kwh"})
    assert len(facts_of([without_ids], retried, PREFIX)) == 3, "no id declared: every record counts"


def test_records_that_lack_the_declared_id_each_count() -> None:
    """They cannot be told apart from each other, so none is dropped as another's retry."""
    anonymous = [rec(n, message("telemetry", None, session_id="s1", kwh=float(n))) for n in range(3)]
    assert [fields["quantity"] for _, _, fields in facts_of([TELEMETRY], anonymous, PREFIX)] == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    "value",
    [None, b"", b"not json", b"\xff\xfe", b"[1, 2]", b'"telemetry"', b"42", b"[" * 100_000 + b"]" * 100_000,
     b'{"type": "telemetry"'],
)
def test_values_that_are_not_a_json_object_are_ignored(value: bytes | None) -> None:
    spec = FactSpec("cp-events", "any", fields={"session": "payload.session_id"})
    kept = facts_of([spec], [rec(0, value), telemetry(1)], PREFIX)
    assert kept == [(TS / 1000.0, "any", {"session": "s1", "source": "topic cp-events"})]


def test_topics_are_matched_under_the_runs_prefix_only() -> None:
    plain = Record("cp-events", 0, 0, json.dumps(message("telemetry", "a")).encode())
    other_run = Record("run8.cp-events", 0, 0, json.dumps(message("telemetry", "b")).encode())
    other_topic = rec(0, message("telemetry", "c"), topic="cp-commands")
    assert [fields["source"] for _, _, fields in facts_of([TELEMETRY], [plain, other_run, other_topic, telemetry(1)],
                                                          PREFIX)] == ["topic cp-events"]
    assert len(facts_of([TELEMETRY], [plain, telemetry(1)], "")) == 1, "no prefix: the bare topic name"


def test_record_facts_places_each_fact_at_its_records_time_and_counts_them(monkeypatch: pytest.MonkeyPatch) -> None:
    history = History(seed=7)
    sent_ms = round((history.clock.start_wall.timestamp() + 2.5) * 1000)
    found = [telemetry(0, timestamp_ms=sent_ms), telemetry(1, message_id="m0"), telemetry(2, timestamp_ms=None),
             rec(3, message("charging_completed", "m3", session_id="s1"), timestamp_ms=sent_ms)]
    asked: list[tuple[str, list[str]]] = []

    def read_all(bootstrap: str, topics: list[str]) -> list[Record]:
        asked.append((bootstrap, topics))
        return found

    monkeypatch.setattr(facts.records, "read_all", read_all)
    counts = record_facts(history, [TELEMETRY, COMPLETED], "localhost:9092", PREFIX)
    assert counts == {"completion_sent": 1, "metered": 2}
    assert asked == [("localhost:9092", [f"{PREFIX}cp-events"])], "one read, each topic once"
    [placed, unplaced] = [e for e in history.events if e["type"] == "metered"]
    assert placed["t"] == pytest.approx(2.5, abs=1e-3) and placed["session"] == "s1"
    assert unplaced["t"] >= 0.0, "a record without a timestamp is stamped when read"
    [summary] = [e for e in history.events if e["type"] == "facts"]
    assert summary["counts"] == {"completion_sent": 1, "metered": 2} and summary["records"] == 4
