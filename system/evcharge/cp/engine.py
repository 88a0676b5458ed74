"""The charging point engine: supplies energy when Central says so, meters it, reports it.

Threads: the inbox (``start_supply`` / ``stop_supply`` from Central), the meter (one tick per
telemetry period) and the health server (the monitor's ``PING``, and ``KO``/``OK`` to force a
failure). Everything the engine sends goes through the resilient producer's send queue, so metering
never waits for Kafka: while Kafka is away telemetry and the completion queue up in order and go
out when it returns, and the kWh in them are the energy really delivered meanwhile.

A forced KO ends the current supply at once (the car gets no more energy) and reports the
completion with reason ``engine_fault``; the monitor reports the KO to Central on its own path.

Every loop runs supervised (``supervise.py``). While the inbox or the meter is down the health port
answers ``KO`` like a forced KO: the monitor reports ``fault`` and Central offers the CP to nobody,
instead of booking a CP that cannot hear ``start_supply`` (it used to "charge" 0 kWh).

A session is supplied at most once: its id is recorded when the engine accepts its start (under the
lock, before any energy flows) and a start for a recorded session is ignored. In memory by default;
with ``EngineConfig.state`` (``--state PATH``, env ``EVCHARGE_CP_STATE``) in a SQLite file
(``supplied.py``), so a restarted engine that reads its commands again (offsets rewound, or killed
before committing them) does not supply a session Central has long closed.

The same file keeps the meter: each reading, and each completion as sent until Kafka acknowledges
it. An engine killed while its send queue held a charge's telemetry and completion (its link down)
sends that completion again when it starts, and reports a supply the kill cut short with its last
reading (reason ``engine_restarted``): the energy delivered is billed, not only what reached Kafka.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from evcharge.auth.component import NO_AUTH, ComponentAuth
from evcharge.config import KafkaSettings
from evcharge.cp.health import HealthServer
from evcharge.cp.meter import Supply
from evcharge.cp.supplied import Interrupted, StoredCompletion, SuppliedSessions, VolatileSessions
from evcharge.failpoints import failpoint
from evcharge.inbox import Inbox
from evcharge.kafka import PendingSend, ResilientProducer
from evcharge.logs import bound
from evcharge.messages import (
    ChargingCompleted,
    Message,
    StartSupply,
    StopSupply,
    Strict,
    Telemetry,
    Topics,
    make,
)
from evcharge.supervise import Supervised, down

log = logging.getLogger("evcharge.engine")


RESTARTED = "engine_restarted"
"""The reason of a completion for a supply the engine's death cut short, sent when it starts again."""


class SessionLedger(Protocol):
    """The engine's record of supplied sessions and their meter (``SuppliedSessions``, or
    ``VolatileSessions`` without a state file)."""

    def add(self, session_id: str) -> bool:
        """Record ``session_id``; False if it was recorded already."""
        ...

    def meter(self, session_id: str, kwh: float, elapsed_s: float) -> None: ...

    def finish(self, completion: StoredCompletion, kwh: float, elapsed_s: float) -> None: ...

    def delivered(self, session_id: str) -> None: ...

    def undelivered(self) -> list[StoredCompletion]: ...

    def interrupted(self) -> list[Interrupted]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class EngineConfig:
    cp_id: str
    health_host: str = "127.0.0.1"
    health_port: int = 7001
    power_kw: float = 22.0
    telemetry_period: float = 1.0
    default_duration: float = 10.0
    state: str | None = None
    """SQLite file remembering the sessions supplied, across restarts (None: in memory only)."""


class Engine:
    def __init__(
        self, config: EngineConfig, kafka: KafkaSettings, producer: ResilientProducer | None = None,
        auth: ComponentAuth = NO_AUTH,
    ) -> None:
        self.config = config
        self.kafka = kafka
        self.source = f"engine:{config.cp_id}"
        # Sessions already supplied: a redelivered start is ignored. Opened first: a bad ``state``
        # path fails before any port is bound.
        self._supplied: SessionLedger = SuppliedSessions(config.state) if config.state else VolatileSessions()
        self._unconfirmed: dict[str, PendingSend] = {}  # completions queued, not yet acknowledged
        self.producer = producer or ResilientProducer(kafka, self.source, seal=auth.sealer)
        self.inbox = Inbox(
            kafka,
            [Topics.CP_COMMANDS],
            f"cp-{config.cp_id}",
            self.source,
            self.on_message,
            wanted=lambda m: getattr(m.body, "cp_id", None) == config.cp_id,
            producer=self.producer,
            own_key=config.cp_id,
            gate=auth.gate(),
        )
        self.health = HealthServer(config.health_host, config.health_port, self.on_health_line)
        self.ko = threading.Event()
        self.stopping = threading.Event()
        self.meter = Supervised("meter", self._meter, self.stopping)
        self._lock = threading.Lock()
        self.supply: Supply | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def run(self) -> None:
        self.health.start()
        self.recover()
        self.inbox.start()
        log.info("engine ready", extra={"health_port": self.health.port})
        self.meter.run()
        self.inbox.stop()
        self.health.close()
        self.producer.close()
        self.close_state()

    def close_state(self) -> None:
        """Close the supplied-sessions file, if any (every row in it is committed already)."""
        self._supplied.close()

    def recover(self) -> None:
        """What a previous run of this engine left unsaid: its completions Kafka never acknowledged,
        sent again as they were, and the supplies its death cut short, completed with their last
        reading. Before the inbox starts, so no new supply can begin first."""
        with self._lock:
            for stored in self._supplied.undelivered():
                log.warning("completion never acknowledged: sending it again", extra={"session_id": stored.session_id})
                item = PendingSend(self.kafka.topic(Topics.CP_EVENTS), stored.key, stored.record, stored.message_id)
                self.producer.send_raw([item])
                self._unconfirmed[stored.session_id] = item
            for cut in self._supplied.interrupted():
                with bound(session_id=cut.session_id):
                    log.warning("supply cut short by the engine's death: completing it",
                                extra={"kwh": round(cut.kwh, 6)})
                    self._complete(cut.session_id, cut.kwh, cut.elapsed_s, RESTARTED)

    def _meter(self) -> None:
        while not self.stopping.wait(self._until_next_tick(time.monotonic())):
            self.tick(time.monotonic())
            self._confirm()

    def _confirm(self) -> None:
        """Forget the stored completions Kafka has acknowledged (one that failed for good stays
        stored: the next start tries it again)."""
        with self._lock:
            for session_id, item in list(self._unconfirmed.items()):
                if item.delivered.is_set():
                    self._supplied.delivered(session_id)
                if item.settled.is_set():
                    del self._unconfirmed[session_id]

    def _until_next_tick(self, now: float) -> float:
        """The telemetry period, or less when the supply ends sooner: a charge ends when it is due,
        not up to one period later (a 1 s charge used to last up to 1.5 s with a 0.5 s period)."""
        supply = self.supply
        period = self.config.telemetry_period
        return period if supply is None else max(0.0, min(period, supply.remaining(now)))

    # -- commands from Central -------------------------------------------------------------------
    def on_message(self, message: Message) -> None:
        body = message.body
        if isinstance(body, StartSupply):
            self.start_supply(body, message)
        elif isinstance(body, StopSupply):
            self.stop_supply(body.session_id, "stopped_by_" + body.reason, message)

    def start_supply(self, cmd: StartSupply, cause: Message | None = None) -> None:
        with self._lock, bound(session_id=cmd.session_id, driver_id=cmd.driver_id):
            if self.supply is not None:
                log.info("start_supply ignored: already supplying", extra={"supplying": self.supply.session_id})
                return
            if not self._supplied.add(cmd.session_id):  # recorded before any energy flows
                log.info("start_supply ignored: this session was supplied already")
                return
            if self.ko.is_set():
                self._complete(cmd.session_id, 0.0, 0.0, "engine_fault", cause)
                return
            self.supply = Supply(
                cmd.session_id,
                cmd.driver_id,
                cmd.price_eur_kwh,
                self.config.power_kw,
                time.monotonic(),
                cmd.duration_s or self.config.default_duration,
            )
            log.info("supplying energy", extra={"duration_s": self.supply.duration_s})

    def stop_supply(self, session_id: str, reason: str, cause: Message | None = None) -> None:
        with self._lock:
            if self.supply is not None and self.supply.session_id == session_id:
                self._finish(time.monotonic(), reason, cause)

    # -- metering --------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Meter the running supply; send telemetry, or the completion when it is done."""
        with self._lock:
            supply = self.supply
            if supply is None:
                return
            if self.ko.is_set():
                self._finish(now, "engine_fault")
                return
            supply.tick(now)
            if supply.done(now):
                self._finish(now, "completed")
                return
            self._supplied.meter(supply.session_id, round(supply.kwh, 6), round(supply.elapsed(now), 3))
            self._send(
                Telemetry(
                    cp_id=self.config.cp_id,
                    session_id=supply.session_id,
                    kw=supply.power_kw,
                    kwh=round(supply.kwh, 6),
                    eur=supply.eur,
                )
            )

    def _finish(self, now: float, reason: str, cause: Message | None = None) -> None:
        supply = self.supply
        assert supply is not None
        supply.tick(now)
        self.supply = None
        with bound(session_id=supply.session_id):
            log.info("supply finished", extra={"reason": reason, "kwh": round(supply.kwh, 6)})
            self._complete(supply.session_id, round(supply.kwh, 6), round(supply.elapsed(now), 3), reason, cause)

    def _complete(self, session_id: str, kwh: float, duration_s: float, reason: str,
                  cause: Message | None = None) -> None:
        """Send a supply's completion, stored first: until Kafka acknowledges it, a restart sends
        the same record again (``recover``)."""
        body = ChargingCompleted(cp_id=self.config.cp_id, session_id=session_id, kwh=kwh, duration_s=duration_s,
                                 reason=reason)
        item = self._record(body, cause)
        self._supplied.finish(StoredCompletion(session_id, item.message_id, item.key, item.value), kwh, duration_s)
        failpoint("engine.supply-finished")  # stored, not queued: a kill here loses it unless stored
        self.producer.send_raw([item])
        self._unconfirmed[session_id] = item

    def _send(self, body: Strict, cause: Message | None = None) -> None:
        self.producer.send_raw([self._record(body, cause)])

    def _record(self, body: Strict, cause: Message | None = None) -> PendingSend:
        """``body`` as the engine's record on its events topic, sealed, not queued yet."""
        message = make(body, self.source, causation_id=cause.message_id if cause else None)
        return self.producer.record(self.kafka.topic(Topics.CP_EVENTS), message, key=self.config.cp_id)

    # -- health / control port -------------------------------------------------------------------
    def loops_down(self) -> dict[str, str]:
        """The engine's loops that are down (between a crash and its restart), with the error."""
        return down([self.inbox.loop, self.meter, self.health.loop])

    def healthy(self) -> bool:
        """Not forced KO, and hearing Central and metering: what ``PING`` answers."""
        return not self.ko.is_set() and not self.loops_down()

    def on_health_line(self, line: str) -> str:
        if line == "KO":
            self.ko.set()
            log.warning("engine forced KO")
            return "KO"
        if line == "OK":
            self.ko.clear()
            log.info("engine back to OK")
        elif line == "STATUS":
            supply = self.supply
            return json.dumps(
                {
                    "cp_id": self.config.cp_id,
                    "ok": self.healthy(),
                    "forced_ko": self.ko.is_set(),
                    "loops_down": self.loops_down(),
                    "session_id": supply.session_id if supply else None,
                    "kwh": supply.kwh if supply else 0.0,
                    "kafka_connected": self.producer.connected,
                    "outbox": self.producer.pending(),
                }
            )
        return "OK" if self.healthy() else "KO"
