"""The engine meters without Kafka and reports everything, in order, when Kafka returns."""

import contextlib
from collections.abc import Iterator

import pytest

from evcharge.cp.engine import Engine, EngineConfig
from evcharge.messages import StartSupply, StopSupply, make

from .fakes import FAST, FakeBroker, fake_producer, wait_for


@pytest.fixture
def engine_and_broker():
    broker = FakeBroker(down=True)
    engine = Engine(EngineConfig("CP_001", health_port=0, power_kw=36), FAST, producer=fake_producer(broker))
    yield engine, broker
    engine.health.close()
    engine.producer.close(drain_timeout=0)


def start(engine: Engine, session: str = "s1", duration: float = 10.0) -> None:
    cmd = StartSupply(cp_id="CP_001", session_id=session, driver_id="D1", price_eur_kwh=0.5, duration_s=duration)
    engine.on_message(make(cmd, "central"))


def test_metering_continues_while_kafka_is_away_and_is_reported_when_it_returns(engine_and_broker):
    engine, broker = engine_and_broker
    start(engine)
    t0 = engine.supply.started
    for second in range(1, 12):
        engine.tick(t0 + second)
    assert engine.supply is None and broker.records == []  # finished, nothing could be sent yet
    broker.down = False
    wait_for(lambda: engine.producer.pending() == 0)
    messages = broker.messages()
    assert [m.type for m in messages] == ["telemetry"] * 9 + ["charging_completed"]
    kwh = [m.body.kwh for m in messages]
    assert kwh == sorted(kwh) and kwh[-1] == pytest.approx(0.1)  # 36 kW for 10 s


def test_a_redelivered_start_is_ignored_and_stop_ends_the_supply(engine_and_broker):
    engine, broker = engine_and_broker
    broker.down = False
    start(engine)
    start(engine)
    engine.on_message(make(StopSupply(cp_id="CP_001", session_id="s1", reason="driver_stop"), "central"))
    start(engine)  # the same session again after it ended: still ignored
    assert engine.supply is None
    wait_for(lambda: engine.producer.pending() == 0)
    (done,) = broker.messages()
    assert done.body.reason == "stopped_by_driver_stop"


def test_a_forced_ko_ends_the_supply_and_the_health_port_says_so(engine_and_broker):
    engine, broker = engine_and_broker
    broker.down = False
    start(engine)
    assert engine.on_health_line("PING") == "OK"
    assert engine.on_health_line("KO") == "KO"
    assert engine.on_health_line("PING") == "KO"
    engine.tick(engine.supply.started + 1)
    wait_for(lambda: engine.producer.pending() == 0)
    assert broker.messages()[-1].body.reason == "engine_fault"
    assert engine.on_health_line("OK") == "OK"


def test_the_engine_wakes_when_a_supply_is_due_not_a_telemetry_period_later(engine_and_broker):
    engine, _ = engine_and_broker
    period = engine.config.telemetry_period
    assert engine._until_next_tick(0.0) == period  # idle: the telemetry cadence
    start(engine, duration=period * 2.5)
    t0 = engine.supply.started
    assert engine._until_next_tick(t0) == period
    assert engine._until_next_tick(t0 + period * 2) == pytest.approx(period / 2)  # the end comes first
    assert engine._until_next_tick(t0 + period * 3) == 0.0  # overdue: tick at once
    engine.tick(t0 + period * 2.5)
    assert engine.supply is None


def test_a_restarted_engine_with_state_ignores_a_session_it_supplied_before(tmp_path, caplog):
    """Two engines over one ``--state`` file, as a CP before and after a restart that re-reads its
    commands: the second never supplies the first's session again, but supplies a new one."""
    caplog.set_level("INFO", logger="evcharge.engine")
    broker = FakeBroker()
    state = str(tmp_path / "supplied.db")
    engines = []
    for _ in range(2):
        config = EngineConfig("CP_001", health_port=0, state=state)
        engines.append(Engine(config, FAST, producer=fake_producer(broker)))
    first, second = engines
    try:
        start(first, "s1")
        assert first.supply is not None and first.supply.session_id == "s1"
        first.close_state()  # the first process is gone; its record is in the file
        start(second, "s1")  # redelivered after the restart
        assert second.supply is None
        assert "start_supply ignored: this session was supplied already" in caplog.messages
        start(second, "s2")
        assert second.supply is not None and second.supply.session_id == "s2"
    finally:
        for engine in engines:
            engine.health.close()
            engine.producer.close(drain_timeout=0)
        second.close_state()


def test_without_state_a_new_engine_remembers_nothing(tmp_path):
    """The in-memory default: a fresh engine supplies a session an earlier one supplied."""
    broker = FakeBroker()
    engines = [Engine(EngineConfig("CP_001", health_port=0), FAST, producer=fake_producer(broker)) for _ in range(2)]
    try:
        for engine in engines:
            start(engine, "s1")
            assert engine.supply is not None
    finally:
        for engine in engines:
            engine.health.close()
            engine.producer.close(drain_timeout=0)


def engine_over(state: str, broker: FakeBroker) -> Engine:
    return Engine(EngineConfig("CP_001", health_port=0, power_kw=36, state=state), FAST, producer=fake_producer(broker))


def stop_engine(engine: Engine) -> None:
    engine.health.close()
    engine.producer.close(drain_timeout=0)
    engine.close_state()


def die_after(state: str, broker: FakeBroker, seconds: int) -> None:
    """An engine over ``state`` starts session s1 with Kafka away, meters ``seconds`` ticks and is
    killed with its send queue: nothing it metered reached Kafka."""
    engine = engine_over(state, broker)
    start(engine, "s1")
    t0 = engine.supply.started
    for second in range(1, seconds + 1):
        engine.tick(t0 + second)
    stop_engine(engine)
    assert broker.records == []


@contextlib.contextmanager
def restarted(state: str, broker: FakeBroker) -> Iterator[Engine]:
    """The next engine over ``state``, with Kafka back: it has recovered and its queue is drained."""
    broker.down = False
    engine = engine_over(state, broker)
    try:
        engine.recover()
        wait_for(lambda: engine.producer.pending() == 0)
        yield engine
    finally:
        stop_engine(engine)


def test_a_completion_queued_when_the_engine_died_is_sent_again_by_the_next_one(tmp_path):
    """Kafka away, a charge finishes, the engine dies with telemetry and completion in its queue:
    the restarted engine sends that very completion (same message id), so the energy is billed."""
    broker = FakeBroker(down=True)
    state = str(tmp_path / "supplied.db")
    die_after(state, broker, 11)  # the 10 s charge finished
    with restarted(state, broker) as second:
        (done,) = broker.messages()
        assert done.type == "charging_completed" and done.body.session_id == "s1"
        assert done.body.kwh == pytest.approx(0.1) and done.body.reason == "completed"
        second._confirm()
        assert second._supplied.undelivered() == []  # acknowledged: a third start sends nothing
    with restarted(state, broker):
        assert len(broker.messages()) == 1


def test_a_supply_cut_short_by_the_engines_death_is_completed_with_its_last_reading(tmp_path):
    broker = FakeBroker(down=True)
    state = str(tmp_path / "supplied.db")
    die_after(state, broker, 3)  # three seconds metered, then the process is killed mid-supply
    with restarted(state, broker) as second:
        (done,) = broker.messages()
        assert (done.body.session_id, done.body.reason) == ("s1", "engine_restarted")
        assert done.body.kwh == pytest.approx(36 * 3 / 3600) and done.body.duration_s == pytest.approx(3.0)
        start(second, "s1")  # and the start read again is still ignored
        assert second.supply is None
