"""The data-plane checks on crafted histories: ``conservation``, ``no-lost-acknowledged``,
``exactly-once``, ``agreement-at-end`` and the clients' side of ``no-double-allocation``.

Each passes a clean history and fails on every violation it exists for, with a message that says
what a person needs: the session, the quantities, the resource, the time and the fault window.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from chaos.checks import InvariantSpec, Verdict, get_check, run_checks
from chaos.core.history import History

Craft = Callable[..., History]
Event = tuple[float, str, dict[str, Any]]
REPLAY = "replay with --chaos-seed 7"
UNREAD = (9.5, "evidence_error", {"what": "facts", "error": "KafkaTimeoutError: no leader"})


def failed(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if not v.ok]


def fault(name: str, start: float, end: float, window: str = "w1") -> list[Event]:
    fields = {"window": window, "name": name, "kind": "kill", "target": "central"}
    return [(start, "fault_start", {**fields, "params": {}}), (end, "fault_end", fields)]


def grant(t: float, resource: str = "CP_1", holder: str = "d1", **ids: str) -> Event:
    """A grant as the system's database records it (``session=`` or ``reservation=``)."""
    return (t, "acquired", {"resource": resource, "holder": holder, "source": "central db", **ids})


def release(t: float, resource: str = "CP_1", holder: str = "d1", **ids: str) -> Event:
    return (t, "released", {"resource": resource, "holder": holder, "source": "central db", **ids})


# -- conservation ------------------------------------------------------------------------------
CONSERVED = InvariantSpec(
    quantity_sources=frozenset({"metered"}), quantity_sinks=frozenset({"db_ticket", "ticket_sent"}),
    quantity_tolerance=0.01,
)


def metered(t: float, quantity: float, session: str = "s1", resource: str = "CP_1") -> Event:
    return (t, "metered", {"session": session, "resource": resource, "quantity": quantity,
                           "source": "topic cp-events"})


def db_ticket(t: float, quantity: float, amount: float, rate: float = 0.35, session: str = "s1") -> Event:
    return (t, "db_ticket", {"session": session, "resource": "CP_1", "ticket": "T1", "quantity": quantity,
                             "amount": amount, "rate": rate, "source": "central db"})


def ticket_sent(t: float, quantity: float, amount: float, session: str = "s1") -> Event:
    return (t, "ticket_sent", {"session": session, "resource": "CP_1", "ticket": "T1", "quantity": quantity,
                               "amount": amount, "source": "topic driver-events"})


def conserve(craft: Craft, *events: Event, rules: InvariantSpec = CONSERVED) -> list[Verdict]:
    return get_check("conservation").check(craft([*events, (20.0, "end", {})]), rules)


def test_bills_equal_to_the_largest_reading_within_the_tolerance_pass(craft: Craft) -> None:
    readings = [metered(2.0, 0.5), metered(4.0, 1.0), metered(6.0, 1.2)]
    [verdict] = conserve(craft, grant(1.0, session="s1"), *readings, db_ticket(7.0, 1.205, 0.42),
                         ticket_sent(7.5, 1.2, 0.42))
    assert verdict.ok, verdict.message
    assert verdict.message == "2 bills over 1 metered sessions, each equal to its source within 0.01"


def test_each_sink_is_judged_apart_and_a_wrong_one_is_named(craft: Craft) -> None:
    events = [grant(1.0, session="s1"), metered(6.0, 1.2), db_ticket(7.0, 1.2, 0.42), *fault("cp link down", 7.5, 9.0)]
    assert not failed(conserve(craft, *events, ticket_sent(10.0, 1.2, 0.42)))
    [verdict] = conserve(craft, *events, ticket_sent(8.0, 1.0, 0.35))
    assert not verdict.ok and verdict.resource == "CP_1" and verdict.windows == ("cp link down",)
    assert verdict.message == (
        "session s1: the source metered 1.2 but ticket_sent (topic driver-events) says 1 "
        f"(difference 0.2, tolerance 0.01) at 12:00:08.000, during 'cp link down'; {REPLAY}"
    )


def test_an_amended_bill_is_judged_as_it_finally_stands(craft: Craft) -> None:
    """The ticket first billed short (the reading came late), then sent again with the same id and
    the reading: judged by its last version; a bill never amended is still judged as it is."""
    events = [grant(1.0, session="s1"), metered(6.0, 1.2), db_ticket(9.0, 1.2, 0.42), ticket_sent(7.0, 0.5, 0.18)]
    assert not failed(conserve(craft, *events, ticket_sent(9.5, 1.2, 0.42)))
    [verdict] = conserve(craft, *events)  # never amended: the short one stands
    assert "ticket_sent (topic driver-events) says 0.5" in verdict.message
    [verdict] = conserve(craft, *events, ticket_sent(9.5, 1.2, 0.42), ticket_sent(9.8, 0.9, 0.32))
    assert "says 0.9" in verdict.message, "the last version is the one judged, right or wrong"


def test_a_bill_for_a_session_never_metered_differs_from_zero(craft: Craft) -> None:
    [verdict] = conserve(craft, db_ticket(5.0, 0.8, 0.28, session="s9"))
    assert verdict.message.startswith("session s9: the source metered 0 but db_ticket (central db) says 0.8")


@pytest.mark.parametrize(
    ("quantity", "rate", "right", "wrong"),
    [
        (0.0143, 0.35, 0.01, 0.0),  # 0.005005 rounds up to a cent
        (1.005, 1.0, 1.01, 1.0),  # half-up on the decimal text (the float 1.005 is 1.00499...)
        (10.0, 0.35, 3.5, 3.49),
    ],
)
def test_the_amount_is_quantity_times_rate_rounded_half_up(
    craft: Craft, quantity: float, rate: float, right: float, wrong: float
) -> None:
    events = [grant(1.0, session="s1"), metered(5.0, quantity)]
    assert conserve(craft, *events, db_ticket(6.0, quantity, right, rate=rate))[0].ok
    [verdict] = conserve(craft, *events, db_ticket(6.0, quantity, wrong, rate=rate))
    assert verdict.resource == "CP_1"
    assert verdict.message.startswith(
        f"session s1: db_ticket (central db) charges {wrong:g} for {quantity:g} at {rate:g} (exactly {right:g}) "
        "at 12:00:06.000"
    )


def test_a_sink_without_a_rate_is_not_priced(craft: Craft) -> None:
    events = [grant(1.0, session="s1"), metered(5.0, 1.0), ticket_sent(6.0, 1.0, 99.0)]
    assert conserve(craft, *events)[0].ok


def test_a_reading_that_goes_back_down_is_a_second_supply(craft: Craft) -> None:
    events = [grant(1.0, session="s1"), metered(3.0, 2.0), db_ticket(9.0, 2.0, 0.7)]
    assert conserve(craft, *events, metered(4.0, 1.995))[0].ok, "a drop within the tolerance is one tick"
    [verdict] = conserve(craft, *events, metered(6.0, 0.4), *fault("central restarted", 5.0, 7.0))
    assert verdict.resource == "CP_1" and verdict.windows == ("central restarted",)
    assert verdict.message.startswith(
        "session s1 was metered twice: its reading went back from 2 to 0.4 (a meter only counts up; the "
        "source supplied the session again) at 12:00:06.000, during 'central restarted'"
    )


def test_metering_a_session_never_granted_fails_once_the_grants_were_read(craft: Craft) -> None:
    stray = metered(4.0, 0.5, session="s2", resource="CP_2")
    [verdict] = conserve(craft, grant(1.0, session="s1"), stray)
    assert verdict.resource == "CP_2"
    assert verdict.message.startswith("0.5 metered for session s2, which the system never granted at 12:00:04.000")
    assert conserve(craft, stray)[0].ok, "with no grant recorded at all, the grants were not read"
    assert conserve(craft, grant(1.0, session="s1"), metered(4.0, 0.005, session="s2"))[0].ok


def test_no_conserved_quantity_means_nothing_to_check(craft: Craft) -> None:
    wrong = [metered(1.0, 5.0), db_ticket(2.0, 1.0, 0.0), UNREAD]
    for rules in (CONSERVED.with_overrides(quantity_tolerance=None), InvariantSpec(quantity_tolerance=0.01)):
        [verdict] = conserve(craft, *wrong, rules=rules)
        assert verdict.ok and verdict.message == "no conserved quantity declared; nothing to check"


def test_unread_facts_fail_conservation_instead_of_passing_on_nothing(craft: Craft) -> None:
    [verdict] = conserve(craft, UNREAD)
    assert not verdict.ok and verdict.resource is None
    assert verdict.message.startswith(
        "the source readings could not be gathered (KafkaTimeoutError: no leader) at 12:00:20.000"
    )
    other = (9.5, "evidence_error", {"what": "consumers", "error": "boom"})
    assert conserve(craft, other)[0].ok, "only the facts are the source's evidence"


# -- no-lost-acknowledged ----------------------------------------------------------------------
ACKED = InvariantSpec(reflections={"start_sent": {"key": "reservation", "by": ["acquired", "start_denied"]}},
                      reflection_within=30.0)


def start_sent(t: float, reservation: str) -> Event:
    return (t, "start_sent", {"reservation": reservation, "resource": "CP_1", "holder": "d1",
                              "source": "topic driver-requests"})


def acked(craft: Craft, *events: Event, end: float = 60.0, rules: InvariantSpec = ACKED) -> list[Verdict]:
    return get_check("no-lost-acknowledged").check(craft([*events, (end, "end", {})]), rules)


def test_every_acknowledged_message_reflected_in_time_passes(craft: Craft) -> None:
    events = [start_sent(1.0, "r1"), grant(2.0, reservation="r1"), start_sent(3.0, "r2"),
              (4.0, "start_denied", {"reservation": "r2", "holder": "d1"})]
    [verdict] = acked(craft, *events)
    assert verdict.ok and verdict.message == "2 acknowledged messages, each reflected within 30 s"


def test_a_message_never_reflected_fails_once_its_bound_has_passed(craft: Craft) -> None:
    events = [start_sent(5.0, "r1"), *fault("central killed", 4.0, 8.0)]
    [verdict] = acked(craft, *events, end=40.0)
    assert verdict.resource == "CP_1" and verdict.windows == ("central killed",)
    assert verdict.message == (
        "acknowledged start_sent reservation=r1 never reflected by acquired or start_denied (bound 30 s) "
        f"sent at 12:00:05.000, during 'central killed'; {REPLAY}"
    )
    assert acked(craft, *events, end=30.0)[0].ok, "25 s old at the end: it may still be reflected"
    assert acked(craft, *events, end=35.0)[0].ok, "exactly at the bound is not past it"


def test_a_message_unreflected_after_the_settle_time_at_rest_fails_before_its_bound(craft: Craft) -> None:
    """A request Central never answered, sent 25 s before the end, used to pass as "not yet": at rest
    (``reflection_settle`` s since it was sent and since the last fault) it counts as lost."""
    settled = ACKED.with_overrides(reflection_settle=10.0)
    events = [start_sent(5.0, "r1"), *fault("central killed", 4.0, 8.0)]
    [verdict] = acked(craft, *events, end=30.0, rules=settled)
    assert not verdict.ok and verdict.message.startswith(
        "acknowledged start_sent reservation=r1 never reflected by acquired or start_denied in the 25.0 s "
        "to the end, 22.0 s of them without faults (bound 30 s) sent at 12:00:05.000")
    assert acked(craft, *events, end=17.0, rules=settled)[0].ok, "9 s after the heal: it may still come"
    late_fault = [start_sent(5.0, "r1"), *fault("broker paused", 12.0, 24.0)]
    assert acked(craft, *late_fault, end=30.0, rules=settled)[0].ok, "6 s after the last heal: not at rest yet"
    assert acked(craft, *events, end=30.0)[0].ok, "without a settle time only the bound counts"


def test_a_reflection_later_than_the_bound_fails(craft: Craft) -> None:
    [verdict] = acked(craft, start_sent(5.0, "r1"), grant(40.0, reservation="r1"))
    assert verdict.message.startswith(
        "acknowledged start_sent reservation=r1 reflected only 35.0 s later (bound 30 s) sent at 12:00:05.000"
    )
    unbounded = ACKED.with_overrides(reflection_within=None)
    assert acked(craft, start_sent(5.0, "r1"), grant(40.0, reservation="r1"), rules=unbounded)[0].ok
    [never] = acked(craft, start_sent(5.0, "r1"), end=6.0, rules=unbounded)
    assert never.message.startswith("acknowledged start_sent reservation=r1 never reflected by acquired or "
                                    "start_denied sent at")


def test_time_under_faults_does_not_count_against_the_bound(craft: Craft) -> None:
    """A completion sent a moment before a broker SIGKILL whose restart took 28 s (log recovery) was
    reflected 36 s later: late by the wall clock, not by the time its path was up."""
    events = [start_sent(5.0, "r1"), *fault("broker killed", 6.0, 37.0), grant(41.0, reservation="r1")]
    [verdict] = acked(craft, *events, end=50.0)
    assert verdict.ok, verdict.message
    [late] = acked(craft, start_sent(5.0, "r1"), *fault("broker killed", 6.0, 10.0), grant(41.0, reservation="r1"),
                   end=50.0)
    assert late.message.startswith("acknowledged start_sent reservation=r1 reflected only 36.0 s later, 32.0 s of "
                                   "them without faults (bound 30 s)")
    [lost] = acked(craft, start_sent(5.0, "r1"), *fault("broker killed", 6.0, 37.0), end=50.0)
    assert lost.ok, "14 s without faults since it was sent: it may still come"
    [lost] = acked(craft, start_sent(5.0, "r1"), *fault("broker killed", 6.0, 37.0), end=70.0)
    assert not lost.ok and "never reflected" in lost.message


def test_a_reflection_before_its_message_counts(craft: Craft) -> None:
    """An effect already caused another way (a session closed before a late completion arrived)."""
    assert acked(craft, grant(1.0, reservation="r1"), start_sent(5.0, "r1"))[0].ok
    assert not acked(craft, grant(1.0, reservation="r2"), start_sent(5.0, "r1"))[0].ok, "keys must match"


@pytest.mark.parametrize(
    "rule", [{"key": "reservation"}, {"key": "reservation", "by": []}, {"key": "reservation", "by": "acquired"},
             {"by": ["acquired"]}],
)
def test_a_bad_reflection_rule_says_what_it_needs(craft: Craft, rule: dict[str, Any]) -> None:
    rules = InvariantSpec(reflections={"start_sent": rule})
    expected = f"reflections['start_sent'] needs a 'key' field name and a non-empty 'by' list, got {rule!r}"
    history = craft([start_sent(1.0, "r1"), (60.0, "end", {})])
    with pytest.raises(ValueError, match=re.escape(expected)):
        get_check("no-lost-acknowledged").check(history, rules)
    [verdict] = run_checks(history, rules, ["no-lost-acknowledged"])
    assert not verdict.ok and "crashed" in verdict.message and expected in verdict.message


def test_unread_facts_fail_and_no_reflections_mean_nothing_to_check(craft: Craft) -> None:
    [verdict] = acked(craft, UNREAD)
    assert not verdict.ok and verdict.message.startswith(
        "the acknowledged messages could not be read (KafkaTimeoutError: no leader) at 12:01:00.000"
    )
    [nothing] = acked(craft, start_sent(1.0, "r1"), rules=InvariantSpec())
    assert nothing.ok and nothing.message == "no acknowledged messages to follow; nothing to check"


# -- exactly-once ------------------------------------------------------------------------------
ONCE = InvariantSpec(effect_events=frozenset({"db_ticket", "ticket_sent"}), effect_id_field="ticket")
PLACES = ("the clients", "db_ticket", "ticket_sent")
TYPES = {"the clients": "ticket", "db_ticket": "db_ticket", "ticket_sent": "ticket_sent"}


def session_end(t: float, session: str = "s1") -> Event:
    return (t, "session_end", {"session": session, "resource": "CP_1", "holder": "d1", "source": "central db"})


def ticket_in(place: str, t: float, ticket: str = "T1", session: str = "s1") -> Event:
    return (t, TYPES[place], {"session": session, "ticket": ticket, "resource": "CP_1"})


def once(craft: Craft, *events: Event) -> list[Verdict]:
    return get_check("exactly-once").check(craft([*events, (30.0, "end", {})]), ONCE)


def one_ticket_each(but: str | None = None) -> list[Event]:
    return [session_end(5.0), *(ticket_in(place, 6.0) for place in PLACES if place != but)]


def test_one_ticket_in_every_place_passes_even_read_twice(craft: Craft) -> None:
    [verdict] = once(craft, *one_ticket_each(), ticket_in("ticket_sent", 7.0), ticket_in("the clients", 8.0))
    assert verdict.ok
    assert verdict.message == "1 finished sessions, each with exactly one ticket in the clients, db_ticket, ticket_sent"


@pytest.mark.parametrize("place", PLACES)
def test_two_ticket_ids_for_one_session_are_two_bills(craft: Craft, place: str) -> None:
    [verdict] = once(craft, *one_ticket_each(), ticket_in(place, 9.0, ticket="T2"), *fault("broker killed", 7.0, 8.0))
    assert verdict.resource == "CP_1" and verdict.windows == ("broker killed",)
    assert verdict.message == (
        f"session s1 has 2 tickets in {place} since 12:00:05.000, during 'broker killed'; {REPLAY}"
    )


@pytest.mark.parametrize("place", PLACES)
def test_a_finished_session_with_no_ticket_fails_naming_the_place(craft: Craft, place: str) -> None:
    [verdict] = once(craft, *one_ticket_each(but=place))
    assert verdict.resource == "CP_1"
    assert verdict.message.startswith(f"session s1 finished with no ticket in {place} since 12:00:05.000")


def test_a_place_whose_facts_were_not_read_is_not_blamed_but_the_clients_are(craft: Craft) -> None:
    assert once(craft, session_end(5.0), ticket_in("the clients", 6.0), UNREAD)[0].ok
    [verdict] = once(craft, session_end(5.0), UNREAD)
    assert verdict.message.startswith("session s1 finished with no ticket in the clients")


def test_two_tickets_fail_even_when_the_end_was_not_seen(craft: Craft) -> None:
    [verdict] = once(craft, ticket_in("db_ticket", 6.0), ticket_in("db_ticket", 8.0, ticket="T2"))
    assert verdict.message.startswith("session s1 has 2 tickets in db_ticket since 12:00:06.000")


# -- agreement-at-end --------------------------------------------------------------------------
AGREE = InvariantSpec()
Views = dict[str, dict[str, str | None]]
AGREED: Views = {"central db": {"CP_1": "d1", "CP_2": None}, "cp CP_1": {"CP_1": "d1"}, "driver d1": {"CP_1": "d1"}}


def views(t: float, said: Views, errors: dict[str, str] | None = None) -> Event:
    return (t, "views", {"views": said, "errors": errors or {}})


def agree(craft: Craft, *events: Event) -> list[Verdict]:
    return get_check("agreement-at-end").check(craft([*events, (30.0, "end", {})]), AGREE)


def test_parties_that_agree_pass_and_no_views_mean_nothing_to_compare(craft: Craft) -> None:
    [verdict] = agree(craft, views(20.0, AGREED))
    assert verdict.ok and verdict.message == "3 parties agree on 2 resources at the end"
    [nothing] = agree(craft)
    assert nothing.ok and nothing.message == "no party's view was taken at the end; nothing to compare"


def test_a_disagreement_names_the_resource_and_what_each_party_says(craft: Craft) -> None:
    split: Views = {**AGREED, "cp CP_1": {"CP_1": None}}
    [verdict] = agree(craft, *fault("cp-1 killed", 1.0, 5.0), views(20.0, split))
    assert verdict.resource == "CP_1" and verdict.windows == ()
    assert verdict.message == (
        "CP_1: the parties disagree (central db says d1, cp CP_1 says nobody, driver d1 says d1) at "
        f"12:00:20.000, 15.0 s after 'cp-1 killed' healed; {REPLAY}"
    )


def test_a_party_that_could_not_be_asked_fails(craft: Craft) -> None:
    [verdict] = agree(craft, views(20.0, AGREED, {"cp CP_2": "URLError: refused", "driver d2": "timed out"}))
    assert verdict.resource is None
    assert verdict.message.startswith("could not ask cp CP_2: URLError: refused; driver d2: timed out at 12:00:20.000")


def test_only_the_last_views_count(craft: Craft) -> None:
    split: Views = {**AGREED, "driver d1": {"CP_1": "d2"}}
    assert agree(craft, views(10.0, split), views(20.0, AGREED))[0].ok
    [verdict] = agree(craft, views(10.0, AGREED), views(20.0, split))
    assert verdict.message.startswith("CP_1: the parties disagree (central db says d1, cp CP_1 says d1, "
                                      "driver d1 says d2) at 12:00:20.000")


# -- no-double-allocation, the clients' side ---------------------------------------------------
TOLD = InvariantSpec(acquire_ops=frozenset(), release_ops=frozenset(), told_ops=frozenset({"charge"}))


def charge(op_id: int, t0: float, t1: float, driver: str, resource: str, session: str | None,
           outcome: str = "ok") -> list[Event]:
    """A ``charge`` operation as the EV driver records it: what the client was told is in its completion."""
    process = f"driver-{driver}"
    told = {"resource": resource, "holder": driver, "session": session}
    return [(t0, "invoke", {"op": op_id, "process": process, "f": "charge", "value": {"cp_id": resource},
                            "resource": resource}),
            (t1, outcome, {"op": op_id, "process": process, "f": "charge", "value": told, "resource": resource})]


def granted(driver: str, session: str, start: float, end: float, reservation: str) -> list[Event]:
    """A reservation, then its session from the same instant (the reservation used), as Central records them."""
    return [grant(start, holder=driver, reservation=reservation),
            grant(start + 1.0, holder=driver, session=session, reservation=reservation),
            release(start + 1.0, holder=driver, reservation=reservation),
            release(end, holder=driver, session=session, reservation=reservation)]


def allocation(craft: Craft, *events: Event) -> list[Verdict]:
    return get_check("no-double-allocation").check(craft([*events, (40.0, "end", {})]), TOLD)


CLEAN = [*granted("d1", "s1", 1.0, 9.0, "r1"), *charge(1, 0.5, 2.5, "d1", "CP_1", "s1"),
         *granted("d2", "s2", 10.0, 15.0, "r2"), *charge(2, 9.5, 11.5, "d2", "CP_1", "s2")]


def test_clients_told_what_the_system_granted_them_pass(craft: Craft) -> None:
    [verdict] = allocation(craft, *CLEAN)
    assert verdict.ok and verdict.message == "4 acquisitions over 1 resources, never two holders"


def test_a_reservation_then_its_session_at_the_same_instant_is_one_holder(craft: Craft) -> None:
    """The session is granted in the same instant the reservation is used; listed either way round."""
    session_first = [grant(1.0, reservation="r1"), grant(2.0, session="s1"), release(2.0, reservation="r1"),
                     release(9.0, session="s1"), grant(9.0, holder="d2", session="s2")]
    assert allocation(craft, *session_first)[0].ok
    kept = [grant(1.0, reservation="r1"), grant(2.0, session="s1")]  # the reservation never marked used
    assert allocation(craft, *kept)[0].ok
    [verdict] = allocation(craft, *kept, grant(5.0, holder="d2", session="s2"))
    assert verdict.message.startswith("CP_1 allocated to d2 while held by d1 at 12:00:05.000")


def test_a_client_told_a_session_the_system_never_granted_fails(craft: Craft) -> None:
    told = charge(3, 20.0, 21.0, "d1", "CP_1", "s9")
    [verdict] = allocation(craft, *CLEAN, *told, *fault("central killed", 19.0, 22.0))
    assert verdict.resource == "CP_1" and verdict.windows == ("central killed",)
    assert verdict.message == (
        "d1 was told it holds CP_1 under s9, which the system never granted at 12:00:21.000, "
        f"during 'central killed'; {REPLAY}"
    )


@pytest.mark.parametrize(
    ("driver", "resource", "expected"),
    [
        ("d3", "CP_1", "d3 was told it holds CP_1 under s1, which the system granted to d1 on CP_1"),
        ("d1", "CP_2", "d1 was told it holds CP_2 under s1, which the system granted to d1 on CP_1"),
    ],
)
def test_a_client_told_someone_elses_grant_fails(craft: Craft, driver: str, resource: str, expected: str) -> None:
    [verdict] = allocation(craft, *CLEAN, *charge(3, 2.0, 3.0, driver, resource, "s1"))
    assert verdict.resource == resource and verdict.message.startswith(f"{expected} at 12:00:03.000")


def test_two_clients_told_the_same_session_fail(craft: Craft) -> None:
    [verdict] = allocation(craft, *CLEAN, *charge(3, 1.5, 2.8, "d2", "CP_1", "s1"))
    assert verdict.message.startswith("d2 was told it holds CP_1 under s1, which the system granted to d1 on CP_1")


def test_what_clients_were_told_is_not_judged_without_the_systems_grants(craft: Craft) -> None:
    told_only = [*charge(1, 0.5, 2.5, "d1", "CP_1", "s1"), *charge(2, 0.5, 2.5, "d2", "CP_1", "s1")]
    assert allocation(craft, *told_only)[0].ok
    reservations_only = [grant(1.0, reservation="r1"), *told_only]
    assert allocation(craft, *reservations_only)[0].ok, "a grant without a session is no session record"


def test_only_ok_operations_tell_and_one_naming_no_grant_fails(craft: Craft) -> None:
    assert allocation(craft, *CLEAN, *charge(3, 20.0, 21.0, "d3", "CP_1", "s9", outcome="unknown"))[0].ok
    [verdict] = allocation(craft, *CLEAN, *charge(4, 20.0, 21.0, "d3", "CP_1", None))
    assert verdict.resource == "CP_1"
    assert verdict.message.startswith("d3 was told it holds CP_1 under None, naming no grant at all at 12:00:21.000")
