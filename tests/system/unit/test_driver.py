"""The driver's request life without Kafka: deadlines, late answers, the seed variant's bug."""

import time

from evcharge.driver.core import Driver, DriverConfig
from evcharge.driver.seed import SeedDriver
from evcharge.messages import AuthorizationResponse, ReservationReleased, SessionStarted, Ticket, make

from .fakes import FAST, FakeBroker, fake_producer, wait_for


def answer(driver: Driver, body) -> None:
    driver.on_message(make(body, "central"))


def make_driver(cls=Driver, deadline: float = 60.0) -> tuple[Driver, FakeBroker]:
    broker = FakeBroker()
    return cls(DriverConfig("D1", request_deadline=deadline), FAST, producer=fake_producer(broker)), broker


def test_a_request_follows_the_session_to_its_ticket():
    driver, broker = make_driver()
    request = driver.request_charge("CP_001")
    answer(
        driver,
        AuthorizationResponse(
            request_id=request.request_id, driver_id="D1", authorized=True, cp_id="CP_001", reservation_id="res1"
        ),
    )
    wait_for(lambda: [m.type for m in broker.messages()] == ["authorization_request", "charging_started"])
    answer(driver, SessionStarted(driver_id="D1", session_id="s1", reservation_id="res1", cp_id="CP_001"))
    assert driver.snapshot(request.request_id)["state"] == "charging"
    answer(
        driver,
        Ticket(
            ticket_id="t",
            session_id="s1",
            driver_id="D1",
            cp_id="CP_001",
            kwh=1,
            price_eur=0.35,
            duration_s=10,
            reason="completed",
        ),
    )
    assert driver.wait_final(request.request_id, 1).state == "completed"


def test_a_request_nobody_answers_fails_at_its_deadline_with_a_reason():
    driver, _ = make_driver(deadline=5)
    request = driver.request_charge(None)
    driver.expire(time.time() + 1)
    assert request.state == "pending"
    driver.expire(time.time() + 6)
    assert request.state == "failed" and "no answer from Central within 5 s" in request.reason


def test_a_late_authorization_is_released_at_once():
    driver, broker = make_driver(deadline=5)
    request = driver.request_charge(None)
    driver.expire(time.time() + 6)
    answer(
        driver,
        AuthorizationResponse(
            request_id=request.request_id, driver_id="D1", authorized=True, cp_id="CP_001", reservation_id="res1"
        ),
    )
    wait_for(lambda: [m.type for m in broker.messages()][-1:] == ["stop_request"])
    assert broker.messages()[-1].body.reservation_id == "res1"


def test_a_released_reservation_fails_the_request():
    driver, _ = make_driver()
    request = driver.request_charge(None)
    answer(
        driver,
        AuthorizationResponse(
            request_id=request.request_id, driver_id="D1", authorized=True, cp_id="CP_001", reservation_id="res1"
        ),
    )
    answer(
        driver, ReservationReleased(driver_id="D1", reservation_id="res1", cp_id="CP_001", reason="reservation_expired")
    )
    assert (request.state, request.reason) == ("failed", "reservation_expired")


def test_the_seed_variant_never_sends_charging_started_when_kafka_was_away_at_start():
    driver, broker = make_driver(SeedDriver)
    assert driver.seed_producer is None  # FAST points at a closed port: the one attempt failed
    request = driver.request_charge("CP_001")
    answer(
        driver,
        AuthorizationResponse(
            request_id=request.request_id, driver_id="D1", authorized=True, cp_id="CP_001", reservation_id="res1"
        ),
    )
    wait_for(lambda: driver.producer.pending() == 0)
    assert [m.type for m in broker.messages()] == ["authorization_request"]
    assert request.state == "authorized"
