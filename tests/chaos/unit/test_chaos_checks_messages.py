"""The message-fault checks and ``services-alive`` on crafted histories: each fails on its violation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaos.checks import InvariantSpec, Verdict, get_check
from chaos.core.history import History

Craft = Callable[..., History]
RULES = InvariantSpec()


Event = tuple[float, str, dict[str, Any]]


def injection(window: str, start: float, end: float, *records: dict[str, Any]) -> list[Event]:
    fields = {"window": window, "name": f"inject on {window}", "kind": "inject-nested", "target": "requests"}
    return [(start, "fault_start", {**fields, "params": {}}), (end, "fault_end", {**fields, "injected": list(records)})]


def record(offset: int, expect: str = "dead-letter", note: str = "arrays nested 5000 deep") -> dict[str, Any]:
    return {"topic": "t.requests", "partition": 0, "offset": offset, "expect": expect, "note": note}


def letter(offset: int) -> tuple[float, str, dict[str, Any]]:
    return (9.0, "dead_letter", {"topic": "t.requests", "partition": 0, "offset": offset, "reason": "nested"})


def failed(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if not v.ok]


def test_every_rejected_record_needs_its_dead_letter(craft: Craft) -> None:
    check = get_check("rejected-records-dead-lettered")
    events = [*injection("w1", 1.0, 2.0, record(5), record(6), record(7, expect="ignored")), letter(5)]
    [verdict] = failed(check.check(craft(events), RULES))
    assert verdict.resource == "t.requests"
    assert verdict.message.startswith("t.requests[0]@6 (arrays nested 5000 deep) was rejected by no dead-letter record")
    assert "during 'inject on w1'" in verdict.message and "replay with --chaos-seed 7" in verdict.message
    assert not failed(check.check(craft([*events, letter(6)]), RULES)), "an ignored record needs no dead letter"


def test_no_injection_means_nothing_to_account_for(craft: Craft) -> None:
    [verdict] = get_check("rejected-records-dead-lettered").check(craft([(1.0, "end", {})]), RULES)
    assert verdict.ok and "no record had to be rejected" in verdict.message


def test_a_state_change_while_records_are_read_is_believing_them(craft: Craft) -> None:
    check = get_check("nothing-believed")
    quiet = [
        (0.0, "state", {"states": {"CP_1": "available", "CP_2": "available"}, "keyframe": True}),
        *injection("w1", 1.0, 3.0, record(5)),
        (5.0, "state", {"states": {"CP_2": "reserved"}, "keyframe": False}),  # after the window: not judged
    ]
    assert not failed(check.check(craft(quiet), RULES))
    believed = [*quiet, (2.0, "state", {"states": {"CP_1": "charging"}, "keyframe": False})]
    [verdict] = failed(check.check(craft(believed), RULES))
    assert verdict.resource == "CP_1"
    assert verdict.message.startswith(
        "CP_1 went available -> charging while the system read 'inject on w1' at 12:00:02.000"
    )


def test_a_service_dead_at_the_end_fails_with_its_exit_code(craft: Craft) -> None:
    check = get_check("services-alive")
    alive = {"central": {"running": True, "exit": None}, "cp-1": {"running": True, "exit": None}}
    assert not failed(check.check(craft([(4.0, "services", {"services": alive})]), RULES))
    dead = {**alive, "cp-1": {"running": False, "exit": 70}}
    [verdict] = failed(check.check(craft([(4.0, "services", {"services": dead})]), RULES))
    assert verdict.resource == "cp-1" and "cp-1 is not running at the end (exit code 70)" in verdict.message
    [nothing] = check.check(craft([(1.0, "end", {})]), RULES)
    assert nothing.ok and "no services were recorded" in nothing.message


def test_a_consumer_group_left_behind_is_deaf_whatever_its_pid_says(craft: Craft) -> None:
    check = get_check("consumers-keep-up")
    caught_up = {"t.central": {}, "t.cp-CP_001": {}}
    assert not failed(check.check(craft([(5.0, "consumers", {"groups": caught_up})]), RULES))
    deaf = {**caught_up, "t.cp-CP_001": {"t.cp-commands[0]": 3, "t.cp-commands[1]": 1}}
    [verdict] = failed(check.check(craft([(5.0, "consumers", {"groups": deaf})]), RULES))
    assert verdict.resource == "t.cp-CP_001"
    assert verdict.message.startswith(
        "consumer group t.cp-CP_001 never read 4 record(s) of t.cp-commands[0] (3), t.cp-commands[1] (1)"
    )


def test_evidence_that_could_not_be_gathered_fails_the_checks_that_need_it(craft: Craft) -> None:
    """A broker that would not answer at the end must not turn into "nothing to judge, ok"."""
    unreadable = (9.5, "evidence_error", {"what": "consumers", "error": "KafkaTimeoutError: no coordinator"})
    [verdict] = get_check("consumers-keep-up").check(craft([unreadable]), RULES)
    assert not verdict.ok and "could not be read (KafkaTimeoutError: no coordinator)" in verdict.message
    lost = (9.5, "evidence_error", {"what": "dead_letter", "error": "boom"})
    history = craft([*injection("w1", 1, 2, record(5)), lost])
    [verdict] = get_check("rejected-records-dead-lettered").check(history, RULES)
    assert not verdict.ok and "dead-letter topic could not be read (boom)" in verdict.message


def audited(offset: int, outcome: str = "refused") -> Event:
    return (9.0, "audit", {"log": "central.audit", "where": f"t.requests:0:{offset}", "outcome": outcome,
                           "actor": "driver:D1"})


def test_every_forged_record_must_be_refused_in_an_audit_log(craft: Craft) -> None:
    check = get_check("forgeries-audited")
    forged = [*injection("w1", 1.0, 2.0, record(5, "refused", "stop_request as driver:D1, unsigned"),
                         record(6, "refused", "ticket as central, sealed with driver-D2's key"), record(7)),
              audited(5), audited(6, outcome="accepted")]
    [verdict] = failed(check.check(craft(forged), RULES))
    assert verdict.message.startswith("t.requests:0:6 (ticket as central, sealed with driver-D2's key) is refused in "
                                      "no audit log")
    assert not failed(check.check(craft([*forged, audited(6)]), RULES)), "a record not forged needs no audit entry"
    lost = [*forged, audited(6), (9.5, "evidence_error", {"what": "audit", "error": "OSError: gone"})]
    [unread] = failed(check.check(craft(lost), RULES))
    assert "the audit logs could not be read" in unread.message


def test_a_forged_record_needs_its_dead_letter_too(craft: Craft) -> None:
    check = get_check("rejected-records-dead-lettered")
    [verdict] = failed(check.check(craft(injection("w1", 1.0, 2.0, record(5, "refused"))), RULES))
    assert "t.requests[0]@5" in verdict.message
