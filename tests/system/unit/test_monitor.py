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


def _slow_engine(delays: list[float]):
    """A PING server on a real socket answering OK after each delay in turn (then at once)."""
    import contextlib
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(64)
                pause = delays.pop(0) if delays else 0.0
                threading.Event().wait(pause)
                with contextlib.suppress(OSError):
                    conn.sendall(b"OK\n")

    threading.Thread(target=serve, daemon=True).start()
    return server


def test_a_ping_that_only_timed_out_is_asked_again_before_it_counts() -> None:
    import time as clock

    from evcharge.cp.monitor import engine_health

    server = _slow_engine([0.4])  # busy for 0.4 s once: a quarter-second PING misses it
    try:
        port = server.getsockname()[1]
        assert engine_health("127.0.0.1", port, 0.1)[0] is False, "without a confirm budget one miss is KO"
        assert engine_health("127.0.0.1", port, 0.1, confirm=0.3) == (True, "engine answered 'OK'")
    finally:
        server.close()
    frozen = _slow_engine([5.0] * 10)
    try:
        started = clock.monotonic()
        ok, detail = engine_health("127.0.0.1", frozen.getsockname()[1], 0.1, confirm=0.2)
        assert not ok and "timed out" in detail and clock.monotonic() - started < 1.5, "a frozen engine is KO in time"
    finally:
        frozen.close()
