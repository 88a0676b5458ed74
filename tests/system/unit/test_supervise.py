"""No loop dies silently: a crash is logged and the loop restarts; a crash loop ends the process with
a distinct status; meanwhile the engine's health port answers KO and the driver's /health 503."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request

import pytest

from evcharge.cp.engine import Engine, EngineConfig
from evcharge.cp.health import ask
from evcharge.cp.monitor import engine_health
from evcharge.driver.api import Access, serve_in_background
from evcharge.driver.core import Driver, DriverConfig
from evcharge.supervise import EXIT_CRASH_LOOP, Supervised

from .consumers import FakeConsumer
from .fakes import FAST, FakeBroker, fake_producer, wait_for


class Flaky:
    """A loop body that raises its first ``crashes`` runs, then runs until stopped."""

    def __init__(self, crashes: int, stopping: threading.Event) -> None:
        self.crashes = crashes
        self.runs = 0
        self.stopping = stopping

    def __call__(self) -> None:
        self.runs += 1
        if self.runs <= self.crashes:
            raise RuntimeError(f"crash {self.runs}")
        self.stopping.wait()


def test_a_loop_that_raises_is_logged_and_restarted(caplog):
    stopping = threading.Event()
    body = Flaky(2, stopping)
    loop = Supervised("flaky", body, stopping, backoff_min=0.01, give_up=pytest.fail).start()
    try:
        wait_for(lambda: body.runs == 3 and loop.up)
        assert loop.restarts == 2 and loop.last_error == "RuntimeError: crash 2"
        crashed = [r for r in caplog.records if r.getMessage() == "loop flaky crashed"]
        assert len(crashed) == 2 and all(r.exc_info for r in crashed)  # with the traceback
    finally:
        stopping.set()
        loop.join(1)


def test_the_loop_is_down_during_its_backoff_and_the_backoff_grows_but_is_bounded():
    stopping = threading.Event()
    loop = Supervised("slow", Flaky(1, stopping), stopping, backoff_min=0.3, give_up=pytest.fail).start()
    try:
        wait_for(lambda: not loop.up)
        wait_for(lambda: loop.up, timeout=2)
    finally:
        stopping.set()
        loop.join(1)
    delays = []
    crashes = Supervised("x", lambda: None, threading.Event(), backoff_min=0.2, backoff_max=1.0, max_crashes=99)
    crashes.stopping.wait = delays.append  # type: ignore[method-assign,assignment]
    for _ in range(6):
        crashes._crashed()
    assert delays == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_a_loop_that_returns_is_done_and_not_restarted():
    runs = []
    Supervised("once", lambda: runs.append(1), threading.Event(), give_up=pytest.fail).run()
    assert runs == [1]


def test_too_many_crashes_in_the_window_give_up_with_the_distinct_status():
    stopping = threading.Event()
    codes: list[int] = []

    def give_up(code: int) -> None:
        codes.append(code)
        stopping.set()

    loop = Supervised("doomed", Flaky(99, stopping), stopping, backoff_min=0.001, max_crashes=3, give_up=give_up)
    loop.run()
    assert codes == [EXIT_CRASH_LOOP] and loop.restarts == 2


def test_a_process_whose_loop_keeps_crashing_exits_non_zero():
    script = textwrap.dedent(
        """
        import threading, time
        from evcharge import logs
        from evcharge.supervise import Supervised

        def boom():
            raise ValueError("always")

        logs.setup("test")
        Supervised("boom", boom, threading.Event(), backoff_min=0.01, max_crashes=3).start()
        time.sleep(30)  # the main thread would live on: only the supervisor can end the process
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20)
    assert done.returncode == EXIT_CRASH_LOOP == 70
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [line["level"] for line in lines].count("error") == 3
    assert "ValueError: always" in lines[0]["exc"]
    assert lines[-1]["level"] == "critical" and "crashed 3 times" in lines[-1]["msg"]


# -- health while a loop is down -------------------------------------------------------------------
@pytest.fixture
def engine():
    engine = Engine(EngineConfig("CP_001", health_port=0), FAST, producer=fake_producer(FakeBroker()))
    consumer = FakeConsumer()
    engine.inbox.consumer = consumer  # type: ignore[assignment]
    engine.inbox.loop.backoff_min = 0.3
    engine.inbox.loop.give_up = pytest.fail
    engine.health.start()
    yield engine, consumer
    engine.inbox.stop()
    engine.health.close()
    engine.producer.close(drain_timeout=0)


def test_the_engine_answers_ko_while_its_inbox_loop_is_down(engine):
    engine, consumer = engine
    failures = iter([RuntimeError("poll exploded")])
    consumer.fail = lambda: next(failures, None)
    port = engine.health.port
    assert ask("127.0.0.1", port) == "OK"  # before: the healthy protocol is unchanged
    engine.inbox.start()
    wait_for(lambda: not engine.inbox.up)
    assert ask("127.0.0.1", port) == "KO"
    assert engine_health("127.0.0.1", port, 1.0)[0] is False  # so the monitor reports a fault
    status = json.loads(ask("127.0.0.1", port, "STATUS"))
    assert status["ok"] is False and "poll exploded" in status["loops_down"]["engine:CP_001-inbox"]
    wait_for(lambda: engine.inbox.up)
    assert ask("127.0.0.1", port) == "OK"
    assert consumer.closes >= 1  # restarted from the last commit, not past the crashed batch


def test_a_forced_ok_does_not_hide_a_loop_that_is_down(engine):
    engine, consumer = engine
    consumer.fail = lambda: RuntimeError("down for good")
    engine.inbox.loop.backoff_min = 5.0
    engine.inbox.start()
    wait_for(lambda: not engine.inbox.up)
    assert engine.on_health_line("OK") == "KO"
    assert engine.on_health_line("PING") == "KO"


def test_the_driver_health_is_503_while_a_loop_is_down():
    driver = Driver(DriverConfig("D1"), FAST, producer=fake_producer(FakeBroker()))
    consumer = FakeConsumer()
    driver.inbox.consumer = consumer  # type: ignore[assignment]
    driver.inbox.loop.give_up = pytest.fail
    served = serve_in_background(driver, "127.0.0.1", 0, Access("t"))
    url = f"http://127.0.0.1:{served.port}/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200 and json.loads(response.read())["healthy"] is True
        consumer.fail = lambda: RuntimeError("deaf")
        driver.inbox.loop.backoff_min = 5.0
        driver.start()
        wait_for(lambda: not driver.inbox.up)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url, timeout=5)
        assert info.value.code == 503
        body = json.loads(info.value.read())
        assert body["healthy"] is False and "deaf" in body["loops_down"]["driver:D1-inbox"]
    finally:
        served.close()
        driver.close()


def test_the_api_answers_500_on_a_bug_and_goes_on(monkeypatch):
    driver = Driver(DriverConfig("D1"), FAST, producer=fake_producer(FakeBroker()))
    served = serve_in_background(driver, "127.0.0.1", 0, Access("t"))
    base = f"http://127.0.0.1:{served.port}"
    monkeypatch.setattr(driver, "snapshot", lambda *a: 1 / 0)
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(urllib.request.Request(f"{base}/requests", headers={"Authorization": "Bearer t"}),
                                   timeout=5)
        assert info.value.code == 500 and "ZeroDivisionError" in json.loads(info.value.read())["error"]
        with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
            assert response.status == 200
    finally:
        served.close()
        driver.producer.close(drain_timeout=0)
