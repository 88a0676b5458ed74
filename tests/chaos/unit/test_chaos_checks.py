"""The checks on crafted histories: each must fail on the violation it exists for, and pass clean runs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from chaos.checks import InvariantSpec, Verdict, check_names, get_check, latency_percentiles, run_checks
from chaos.checks.measures import percentile, recovery, time_to_recovery
from chaos.checks.registry import register, unregister
from chaos.core.history import History

Craft = Callable[..., History]
RULES = InvariantSpec(transient_limits={"reserved": 15.0}, request_deadline=30.0, recovery_within=20.0)


def state(states: dict[str, str], keyframe: bool = True) -> dict[str, Any]:
    return {"states": states, "keyframe": keyframe}


def fault(window: str, name: str, start: float, end: float | None) -> list[tuple[float, str, dict[str, Any]]]:
    fields = {"window": window, "name": name, "kind": "timeout", "target": "driver"}
    events = [(start, "fault_start", {**fields, "params": {}})]
    return events if end is None else [*events, (end, "fault_end", fields)]


def op(
    op_id: int, t0: float, t1: float | None, outcome: str = "ok", f: str = "request", **fields: Any
) -> list:
    base = {"op": op_id, "process": "driver", "f": f, "value": fields.pop("value", None), **fields}
    events = [(t0, "invoke", base)]
    return events if t1 is None else [*events, (t1, outcome, base)]


def failed(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if not v.ok]


def stuck_history(craft: Craft) -> History:
    """CP_001 reserved from 3.12 s to 50.32 s (47.2 s) while the driver's link times out."""
    return craft(
        [
            (0.0, "state", state({"CP_001": "available", "CP_002": "available"})),
            (3.12, "state", state({"CP_001": "reserved"}, keyframe=False)),
            *fault("w1", "driver link timeout", 2.0, 30.0),
            (50.32, "state", state({"CP_001": "available"}, keyframe=False)),
            *op(1, 55.0, 56.5),
            (60.0, "end", {}),
        ]
    )


def test_a_resource_stuck_in_a_transient_state_fails_naming_it_and_the_fault(craft: Craft) -> None:
    verdicts = get_check("transient-state-limit").check(stuck_history(craft), RULES)
    [verdict] = failed(verdicts)
    assert verdict.message == (
        "CP_001 reserved for 47.2 s (limit 15 s) since 12:00:03.120, during 'driver link timeout'; "
        "replay with --chaos-seed 7"
    )
    assert verdict.resource == "CP_001" and verdict.windows == ("driver link timeout",)
    assert verdict.value == pytest.approx(47.2) and verdict.seed == 7
    assert verdict.at == "2024-05-01T12:00:03.120+00:00"
    assert "FAILED" in str(verdict)
    json.dumps(verdict.to_dict())


def test_still_in_the_state_at_history_end_fails_only_once_the_limit_has_passed(craft: Craft) -> None:
    def history(end: float) -> History:
        return craft([(0.0, "state", state({"CP_9": "reserved"})), (end, "end", {})], seed=None)

    check = get_check("transient-state-limit")
    [verdict] = check.check(history(20.0), RULES)
    assert not verdict.ok and "still in it at the end" in verdict.message
    assert "with no fault active" in verdict.message and "replay" not in verdict.message
    assert check.check(history(10.0), RULES)[0].ok


def test_a_stuck_state_after_a_heal_names_the_fault_before_it(craft: Craft) -> None:
    events = [
        *fault("w1", "cp link down", 1.0, 2.0),
        (4.0, "state", state({"X": "reserved"})),
        (30.0, "end", {}),
    ]
    [verdict] = get_check("transient-state-limit").check(craft(events), RULES)
    assert "2.0 s after 'cp link down' healed" in verdict.message and verdict.windows == ()


def test_a_clean_history_passes_every_check(craft: Craft) -> None:
    history = craft(
        [
            (0.0, "state", state({"CP_001": "available"})),
            (1.0, "state", state({"CP_001": "reserved"}, keyframe=False)),
            *op(1, 0.9, 1.2, value={"session": "s1"}, resource="CP_001", holder="d1"),
            *fault("w1", "driver latency", 2.0, 6.0),
            (3.0, "state", state({"CP_001": "charging"}, keyframe=False)),
            (9.0, "session_end", {"session": "s1", "resource": "CP_001"}),
            (9.1, "ticket", {"session": "s1", "resource": "CP_001"}),
            *op(2, 7.0, 7.4, resource="CP_002"),
            (10.0, "state", state({"CP_001": "available"}, keyframe=False)),
            (11.0, "end", {}),
        ]
    )
    verdicts = run_checks(history, RULES)
    assert [v.invariant for v in verdicts] == check_names()
    assert all(v.ok for v in verdicts), [str(v) for v in verdicts]
    assert verdicts[check_names().index("recovery")].value == pytest.approx(1.4)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (
            op(1, 1.0, 5.0, "unknown", error="timed out"),
            "driver request #1 ended unknown after 4.0 s: timed out",
        ),
        (op(1, 1.0, None), "driver request #1 never ended (history ends 59.0 s after the invoke)"),
        (op(1, 1.0, 41.0, "ok"), "driver request #1 ended ok after 40.0 s (deadline 30 s)"),
        (op(1, 1.0, 41.0, "fail", resource="CP_3"), "driver request #1 on CP_3 ended fail after 40.0 s"),
    ],
)
def test_requests_must_end_within_the_deadline_with_ok_or_a_clear_failure(
    craft: Craft, events: list, expected: str
) -> None:
    history = craft([*events, *fault("w1", "central killed", 0.5, 3.0), (60.0, "end", {})])
    [verdict] = get_check("request-deadline").check(history, RULES)
    assert not verdict.ok and verdict.message.startswith(expected)
    assert "invoked at 12:00:01.000, during 'central killed'" in verdict.message


def test_a_prompt_clear_failure_is_a_correct_answer_and_other_ops_can_be_excluded(craft: Craft) -> None:
    history = craft(
        [*op(1, 1.0, 2.0, "fail", error="no CP free"), *op(2, 1.0, None, f="watch"), (9.0, "end", {})]
    )
    check = get_check("request-deadline")
    assert not check.check(history, RULES)[0].ok  # every op is a request by default
    assert check.check(history, RULES.with_overrides(request_ops=frozenset({"request"})))[0].ok


def test_double_allocation_is_found_and_releases_are_given_the_benefit_of_the_doubt(craft: Craft) -> None:
    check = get_check("no-double-allocation")

    def run(*events: Any) -> list[Verdict]:
        return check.check(craft([*events, (30.0, "end", {})]), RULES)

    acquire_a = op(1, 1.0, 2.0, f="acquire", resource="R1", holder="a")
    acquire_b = op(2, 5.0, 6.0, f="acquire", resource="R1", holder="b")
    [verdict] = run(*acquire_a, *acquire_b)
    assert not verdict.ok and verdict.message.startswith("R1 allocated to b while held by a at 12:00:06.000")
    # a release that may have happened (ok or unknown) counts from its invoke
    assert run(*acquire_a, *op(3, 4.0, 7.0, f="release", resource="R1", holder="a"), *acquire_b)[0].ok
    assert run(*acquire_a, *op(3, 4.0, 7.0, "unknown", f="release", resource="R1", holder="a"), *acquire_b)[
        0
    ].ok
    # a release that clearly failed did not happen
    assert not run(*acquire_a, *op(3, 4.0, 4.5, "fail", f="release", resource="R1", holder="a"), *acquire_b)[
        0
    ].ok
    # events work as well as operations; an unknown acquisition is not counted
    events = [
        (1.0, "acquired", {"resource": "R1", "holder": "a"}),
        (2.0, "acquired", {"value": {"resource": "R1", "holder": "c"}}),
    ]
    assert not run(*events)[0].ok
    assert run(*acquire_a, *op(2, 5.0, 6.0, "unknown", f="acquire", resource="R1", holder="b"))[0].ok
    # the same holder twice is not a double allocation
    assert run(*acquire_a, *op(4, 3.0, 3.5, f="acquire", resource="R1", holder="a"))[0].ok


def test_each_finished_session_has_exactly_one_ticket(craft: Craft) -> None:
    check = get_check("exactly-once")

    def run(*events: Any, rules: InvariantSpec = RULES) -> list[Verdict]:
        return check.check(craft([*events, (30.0, "end", {})]), rules)

    end = (5.0, "session_end", {"session": "s1", "resource": "CP_1"})
    ticket = (6.0, "ticket", {"session": "s1"})
    assert run(end, ticket)[0].ok
    [missing] = run(end)
    assert missing.message.startswith("session s1 finished with no ticket in the clients since 12:00:05.000")
    assert missing.resource == "CP_1"
    [double] = run(end, ticket, (7.0, "ticket", {"session": "s1"}))
    assert double.message.startswith("session s1 has 2 tickets in the clients")
    assert not run(ticket, (7.0, "ticket", {"session": "s1"}))[0].ok
    # the same rule over operations: a client's stop and get_ticket results
    rules = RULES.with_overrides(session_end_ops=frozenset({"stop"}), ticket_ops=frozenset({"get_ticket"}))
    stop = op(1, 4.0, 5.0, f="stop", value={"session": "s2"})
    assert not run(*stop, rules=rules)[0].ok
    assert run(*stop, *op(2, 5.0, 6.0, f="get_ticket", value={"session": "s2"}), rules=rules)[0].ok


def test_recovery_needs_a_fresh_request_to_succeed_within_t_after_the_last_heal(craft: Craft) -> None:
    check = get_check("recovery")
    faults = [*fault("w1", "broker 1 killed", 1.0, 5.0), *fault("w2", "cp latency", 2.0, 10.0)]

    def run(*events: Any) -> Verdict:
        [verdict] = check.check(craft([*faults, *events, (60.0, "end", {})]), RULES)
        return verdict

    ok = run(*op(1, 9.0, 12.0), *op(2, 11.0, 14.5))  # op 1 was invoked before the heal: not fresh
    assert ok.ok and ok.value == pytest.approx(4.5) and "4.5 s after the last heal" in ok.message
    late = run(*op(1, 11.0, 40.0))
    assert (
        not late.ok
        and "first fresh request succeeded only 30.0 s after the heal (limit 20 s)" in late.message
    )
    # about the fault it just healed: not "during" it (an earlier wording said "during 'cp latency'")
    assert "after the heal at 12:00:10.000, as 'cp latency' healed" in late.message and late.windows == ()
    assert late.message.endswith("replay with --chaos-seed 7") and late.value == pytest.approx(30.0)
    none_ok = run(*op(1, 11.0, 12.0, "fail"))
    assert not none_ok.ok and "none of 1 fresh requests succeeded" in none_ok.message
    assert "no fresh request was made" in run().message
    assert check.check(craft([*op(1, 1.0, 2.0), (9.0, "end", {})]), RULES)[0].ok  # nothing to recover from
    [unhealed] = check.check(craft([*fault("w1", "monitor paused", 1.0, None), (9.0, "end", {})]), RULES)
    assert not unhealed.ok and "'monitor paused' never healed" in unhealed.message


def test_measures_time_to_recovery_state_recovery_and_latency(craft: Craft) -> None:
    history = craft(
        [
            (0.0, "state", state({"A": "reserved", "B": "idle"})),
            *fault("w1", "link down", 1.0, 10.0),
            (13.5, "state", state({"A": "idle"}, keyframe=False)),
            *op(1, 10.5, 12.0),
            *op(2, 11.0, 11.5),
            *op(3, 11.0, 11.2, "fail"),
            *op(4, 11.0, 19.0, "unknown"),
            (20.0, "end", {}),
        ]
    )
    found = recovery(history, RULES)
    assert found.heal_t == 10.0 and found.fault == "link down" and found.fresh_requests == 4
    assert found.request_recovery == pytest.approx(1.5) and found.state_recovery == pytest.approx(3.5)
    assert time_to_recovery(history, RULES) == pytest.approx(1.5)
    stats = latency_percentiles(history)
    assert stats.count == 3 and stats.max == pytest.approx(1.5) and stats.p50 == pytest.approx(0.5)
    assert latency_percentiles(history, outcomes=("ok",)).count == 2
    assert latency_percentiles(craft([(1.0, "end", {})])).count == 0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert percentile([7.0], 0.99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_registry_names_unknown_checks_and_reports_crashing_ones(craft: Craft) -> None:
    with pytest.raises(KeyError, match=re.escape("no check named 'nope'; known checks: " + ", ".join(check_names()))):
        get_check("nope")

    class Broken:
        name = "test-broken"

        def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
            raise RuntimeError("bug")

    register(Broken())
    try:
        [verdict] = run_checks(craft([]), RULES, ["test-broken"])
        assert not verdict.ok and "crashed" in verdict.message
        with pytest.raises(ValueError, match="already registered"):
            register(type("Other", (), {"name": "test-broken", "check": Broken.check})())
    finally:
        unregister("test-broken")
    assert "test-broken" not in check_names()


def test_invariant_spec_round_trips_through_json() -> None:
    rules = RULES.with_overrides(request_ops=frozenset({"b", "a"}), transient_limits={"pending": 5})
    assert dict(rules.transient_limits) == {"reserved": 15.0, "pending": 5}
    raw = json.loads(json.dumps(rules.to_dict()))
    assert raw["request_ops"] == ["a", "b"]
    assert InvariantSpec.from_dict(raw) == rules
    with pytest.raises(ValueError, match="unknown invariant field"):
        InvariantSpec.from_dict({"limits": {}})


def test_a_state_only_a_message_can_end_is_not_timed_while_the_brokers_are_away(craft: Craft) -> None:
    check = get_check("transient-state-limit")
    rules = RULES.with_overrides(transient_limits={"charging": 14.0}, transient_paused_by={"charging": ["broker:"]})
    broker = [(2.0, "fault_start", {"window": "w1", "name": "broker 1 kill", "kind": "kill", "target": "broker:1",
                                    "params": {}}),
              (12.0, "fault_end", {"window": "w1", "name": "broker 1 kill", "kind": "kill", "target": "broker:1"})]
    charge = [(0.0, "state", state({"CP_1": "charging"})), (16.0, "state", state({"CP_1": "available"}))]
    [ok] = check.check(craft([*charge, *broker, (20.0, "end", {})]), rules)
    assert ok.ok and "paused by charging: broker:" in ok.message and ok.value == pytest.approx(6.0)
    [late] = check.check(craft([*charge[:1], (25.0, "state", state({"CP_1": "available"})), *broker,
                                (30.0, "end", {})]), rules)
    assert not late.ok and late.message.startswith(
        "CP_1 charging for 15.0 s (limit 14 s, not counting 10.0 s of faults that stopped its clock)")
    driver_cut = [{**e[2], "target": "driver"} for e in broker]
    [wall] = check.check(craft([*charge, (2.0, "fault_start", driver_cut[0]), (12.0, "fault_end", driver_cut[1]),
                                (20.0, "end", {})]), rules)
    assert not wall.ok and "charging for 16.0 s (limit 14 s)" in wall.message, "other faults do not stop the clock"
    [reserved] = check.check(craft([(0.0, "state", state({"CP_1": "reserved"})), *broker,
                                    (16.0, "state", state({"CP_1": "available"})), (20.0, "end", {})]),
                             rules.with_overrides(transient_limits={"reserved": 8.0}))
    assert not reserved.ok, "a state ended by the system's own timer is judged on the wall clock"


def test_a_timer_state_is_paused_only_by_the_named_kinds_on_its_keeper(craft: Craft) -> None:
    """``kind@prefix`` entries: a kill of the timer's keeper stops the clock, a cut of its link does not."""
    check = get_check("transient-state-limit")
    rules = RULES.with_overrides(transient_limits={"reserved": 8.0},
                                 transient_paused_by={"reserved": ["kill@central", "pause@central"]})

    def window(kind: str, target: str, start: float, end: float) -> list[tuple[float, str, dict[str, Any]]]:
        fault = {"window": f"{kind}-{start}", "name": f"{target} {kind}", "kind": kind, "target": target}
        return [(start, "fault_start", {**fault, "params": {}}), (end, "fault_end", fault)]

    held = [(0.0, "state", state({"CP_1": "reserved"})), (10.0, "state", state({"CP_1": "available"}))]
    [killed] = check.check(craft([*held, *window("kill", "central", 1.0, 3.0), (12.0, "end", {})]), rules)
    assert killed.ok and "reserved: kill@central/pause@central" in killed.message
    assert killed.value == pytest.approx(8.0)
    [both] = check.check(craft([*held, *window("kill", "central", 1.0, 3.0), *window("pause", "central", 2.0, 4.0),
                                (12.0, "end", {})]), rules)
    assert both.ok and both.value == pytest.approx(7.0), "overlapping windows count once"
    for kind, target in (("link-down", "central"), ("kill", "cp-CP_1")):
        [wall] = check.check(craft([*held, *window(kind, target, 1.0, 3.0), (12.0, "end", {})]), rules)
        assert not wall.ok and "reserved for 10.0 s (limit 8 s)" in wall.message, f"{kind} on {target} stops nothing"


def test_a_grant_made_and_undone_in_one_instant_leaves_nobody_holding(craft: Craft) -> None:
    check = get_check("no-double-allocation")
    made_and_undone = [(10.0, "acquired", {"resource": "CP_1", "holder": "a", "reservation": "r1"}),
                       (10.0, "released", {"resource": "CP_1", "holder": "a", "reservation": "r1"})]
    later = [(12.0, "acquired", {"resource": "CP_1", "holder": "b"})]
    assert check.check(craft([*made_and_undone, *later, (20.0, "end", {})]), RULES)[0].ok
    handover = [(5.0, "acquired", {"resource": "CP_1", "holder": "c"}),
                (12.0, "released", {"resource": "CP_1", "holder": "c"})]
    assert check.check(craft([*handover, *later, (20.0, "end", {})]), RULES)[0].ok, "released as b acquires"
    [double] = check.check(craft([*handover[:1], *later, (20.0, "end", {})]), RULES)
    assert not double.ok and "CP_1 allocated to b while held by c" in double.message
