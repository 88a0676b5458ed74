"""A driver request has a deadline in every state, and finished requests do not pile up in memory."""

from __future__ import annotations

import time

import pytest

from evcharge.cli import build_parser
from evcharge.driver.core import Driver, DriverConfig
from evcharge.driver.requests import ChargeRequest
from evcharge.messages import AuthorizationResponse, CpInfo, CpList, SessionStarted, Telemetry, Ticket, make

from .fakes import FAST, FakeBroker, fake_producer, wait_for


def make_driver(**config: float) -> tuple[Driver, FakeBroker]:
    broker = FakeBroker()
    return Driver(DriverConfig("D1", **config), FAST, producer=fake_producer(broker)), broker  # type: ignore[arg-type]


def answer(driver: Driver, body) -> None:  # type: ignore[no-untyped-def]
    driver.on_message(make(body, "central"))


def authorized(driver: Driver) -> ChargeRequest:
    request = driver.request_charge("CP_001")
    answer(
        driver,
        AuthorizationResponse(
            request_id=request.request_id, driver_id="D1", authorized=True, cp_id="CP_001", reservation_id="res1"
        ),
    )
    assert request.state == "authorized"
    return request


def charging(driver: Driver) -> ChargeRequest:
    request = authorized(driver)
    answer(driver, SessionStarted(driver_id="D1", session_id="s1", reservation_id="res1", cp_id="CP_001"))
    assert request.state == "charging"
    return request


def telemetry(driver: Driver, kwh: float = 0.1) -> None:
    answer(driver, Telemetry(cp_id="CP_001", session_id="s1", kw=22, kwh=kwh, eur=0.1, driver_id="D1"))


IDS = {"ticket_id": "t1", "session_id": "s1", "driver_id": "D1", "cp_id": "CP_001"}


def ticket(driver: Driver) -> None:
    answer(driver, Ticket(**IDS, kwh=1, price_eur=0.35, duration_s=10, reason="completed"))


def last_stop(broker: FakeBroker, **naming: str):  # type: ignore[no-untyped-def]
    """The newest ``stop_request`` that names what is given (a reservation cancel comes before a
    session stop, and both are sent from other threads): waited for, not assumed to be there."""

    def matching() -> list:  # type: ignore[type-arg]
        return [
            m.body for m in broker.messages()
            if m.type == "stop_request" and all(getattr(m.body, k) == v for k, v in naming.items())
        ]

    wait_for(lambda: bool(matching()))
    return matching()[-1]


@pytest.mark.parametrize(
    ("state", "config", "reason", "freed"),
    [
        (
            "authorized",
            {"start_deadline": 20},
            "authorized on CP_001 but the session did not start within 20 s",
            ("reservation_id", "res1"),
        ),
        (
            "charging",
            {"charging_silence": 20},
            "no telemetry or ticket from CP_001 for 20 s while charging",
            ("session_id", "s1"),
        ),
    ],
)
def test_an_overdue_request_fails_with_its_reason_and_frees_what_it_holds(state, config, reason, freed):
    driver, broker = make_driver(**config)
    request = authorized(driver) if state == "authorized" else charging(driver)
    driver.expire(time.time() + 19)
    assert request.state == state
    driver.expire(time.time() + 21)
    assert request.state == "failed" and reason in request.reason
    assert "kafka" in request.reason  # and what the link looked like, as for pending requests
    field, value = freed
    assert getattr(last_stop(broker, **{field: value}), field) == value  # cancelled, or stopped


def test_telemetry_keeps_a_charge_alive():
    driver, _ = make_driver(charging_silence=30)
    request = charging(driver)
    first = request.deadline
    time.sleep(0.01)
    telemetry(driver)
    assert request.deadline > first
    driver.expire(first + 0.005)
    assert request.state == "charging"


def test_a_stopping_request_that_never_gets_its_ticket_fails_too():
    driver, _ = make_driver(charging_silence=30)
    request = charging(driver)
    driver.stop(request.request_id)
    assert request.state == "stopping"
    driver.expire(time.time() + 31)
    assert request.state == "failed" and "while stopping" in request.reason


def test_a_late_ticket_is_kept_but_the_final_state_stays():
    driver, _ = make_driver(charging_silence=30)
    request = charging(driver)
    driver.expire(time.time() + 31)
    ticket(driver)
    assert request.state == "failed" and request.ticket is not None and request.ticket["ticket_id"] == "t1"


def test_a_session_that_starts_after_the_request_failed_is_stopped():
    driver, broker = make_driver(start_deadline=20)
    request = authorized(driver)
    driver.expire(time.time() + 21)
    answer(driver, SessionStarted(driver_id="D1", session_id="s9", reservation_id="res1", cp_id="CP_001"))
    assert request.state == "failed"
    assert last_stop(broker, session_id="s9").session_id == "s9"


def test_a_normal_charge_completes_within_the_default_deadlines():
    driver, _ = make_driver()
    request = charging(driver)
    for _ in range(12):  # a 6 s charge with telemetry every 0.5 s, seen as far ahead as 6 s
        telemetry(driver)
        driver.expire(time.time() + 6)
    ticket(driver)
    assert request.state == "completed"
    config = DriverConfig("D1")
    assert min(config.start_deadline, config.charging_silence) >= 10 * 6  # ten times the longest suite charge


def test_finished_requests_are_forgotten_after_the_retention():
    driver, _ = make_driver(retention=100)
    done = charging(driver)
    ticket(driver)
    waiting = driver.request_charge("CP_002")
    driver.prune(time.time() + 99)
    assert done.request_id in driver.requests
    driver.prune(time.time() + 101)
    assert list(driver.requests) == [waiting.request_id]  # a request still running is never pruned
    with pytest.raises(KeyError):
        driver.snapshot(done.request_id)


def test_the_table_of_finished_requests_is_bounded():
    driver, _ = make_driver(max_finished=3)
    requests = [driver.request_charge(None) for _ in range(5)]
    for request in requests:
        driver.stop(request.request_id)  # cancelled: final
        time.sleep(0.002)
    driver.prune(time.time())
    assert list(driver.requests) == [r.request_id for r in requests[2:]]  # the newest three


def test_a_cp_list_nobody_waits_for_is_not_kept():
    driver, _ = make_driver()
    answer(driver, CpList(request_id="late", driver_id="D1", cps=[CpInfo(cp_id="CP_001", state="available")]))
    assert driver._cp_lists == {}


def test_the_deadlines_have_flags_with_environment_fallbacks(monkeypatch):
    args = build_parser().parse_args(["driver"])
    assert (args.start_deadline, args.charging_silence, args.request_retention) == (60.0, 60.0, 3600.0)
    monkeypatch.setenv("EVCHARGE_START_DEADLINE", "7")
    monkeypatch.setenv("EVCHARGE_CHARGING_SILENCE", "8")
    args = build_parser().parse_args(["driver", "--request-retention", "9"])
    assert (args.start_deadline, args.charging_silence, args.request_retention) == (7.0, 8.0, 9.0)
