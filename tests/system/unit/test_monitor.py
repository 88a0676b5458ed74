"""The monitor: one heartbeat a period, saying whether its engine answers OK, and a recovered engine
reported at once rather than a period later."""

from __future__ import annotations

import pytest

from evcharge.cp import monitor as monitor_module
from evcharge.cp.health import HealthServer
from evcharge.cp.monitor import Monitor, MonitorConfig

from .fakes import FAST, FakeBroker, fake_producer, wait_for


@pytest.fixture
def broker_and_monitor():
    broker = FakeBroker()
    engine = HealthServer("127.0.0.1", 0, lambda line: "OK").start()
    config = MonitorConfig("CP_001", engine_port=engine.port, period=60.0)
    monitor = Monitor(config, FAST, producer=fake_producer(broker))
    yield broker, monitor, engine
    monitor.producer.close(drain_timeout=0)
    engine.close()


def test_each_beat_reports_what_the_engine_answered(broker_and_monitor):
    broker, monitor, engine = broker_and_monitor
    assert monitor.beat() is True
    engine.close()
    assert monitor.beat() is False
    wait_for(lambda: len(broker.messages()) == 2)
    first, second = broker.messages()
    assert (first.body.engine_ok, second.body.engine_ok) == (True, False)
    assert "engine unreachable" in second.body.detail


def test_a_ko_engine_is_asked_again_soon_and_its_recovery_ends_the_wait(broker_and_monitor, monkeypatch):
    _, monitor, _ = broker_and_monitor
    answers = iter([False, False, True])
    asked = []

    def health(host, port, timeout):
        asked.append(timeout)
        return next(answers), "scripted"

    monkeypatch.setattr(monitor_module, "engine_health", health)
    monkeypatch.setattr(monitor_module, "RECHECK", 0.01)
    monitor.wait_next_beat(ok=False)  # the period is 60 s: returning at all means the recovery ended it
    assert asked == [0.01, 0.01, 0.01]


def test_an_ok_engine_is_not_asked_between_beats(broker_and_monitor, monkeypatch):
    _, monitor, _ = broker_and_monitor
    monkeypatch.setattr(monitor_module, "engine_health", lambda *a: pytest.fail("asked between beats"))
    monitor.stopping.set()  # the wait ends at once (as on SIGTERM), having asked nothing
    monitor.wait_next_beat(ok=True)
