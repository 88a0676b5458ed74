"""The charging point monitor: asks its engine "are you OK?" every second and tells Central.

Each period it sends one ``heartbeat`` with ``engine_ok``. Central reads a heartbeat with
``engine_ok=false`` as a fault, and the absence of heartbeats (monitor gone, or its link cut) as a
disconnection. An engine that does not answer at all counts as KO: for a driver there is no
difference. The send queue is kept short on purpose: after an outage only recent heartbeats matter.
The beat loop runs supervised (``supervise.py``): an unforeseen error is logged and the loop restarts;
meanwhile no heartbeat goes out, which Central reads as the disconnection it is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from evcharge.auth.component import NO_AUTH, ComponentAuth
from evcharge.config import KafkaSettings
from evcharge.cp.health import ask
from evcharge.kafka import ResilientProducer
from evcharge.messages import Heartbeat, Topics, make
from evcharge.supervise import Supervised
from evcharge.wire import TEXT_MAX

log = logging.getLogger("evcharge.monitor")

RECHECK = 0.1
"""Seconds between health questions while the engine is KO (see ``Monitor.wait_next_beat``)."""


@dataclass(frozen=True)
class MonitorConfig:
    cp_id: str
    engine_host: str = "127.0.0.1"
    engine_port: int = 7001
    period: float = 1.0


def engine_health(host: str, port: int, timeout: float, confirm: float | None = None) -> tuple[bool, str]:
    """(ok, detail) from one PING; an unreachable engine is not OK.

    A PING that only *timed out* is asked again, each time with ``confirm`` seconds to answer, for
    up to twice ``confirm`` in all, before it counts as KO: a live engine can miss a quarter-second
    answer (its process starved for a moment on a busy machine, as when its Kafka client reconnects
    after a broker pause: up to 0.8 s measured here), and a single missed answer used to mark the CP
    ``fault`` and cancel the reservation of whoever had just been given it. A refused connection (no
    engine) or an explicit ``KO`` is reported at once; a frozen engine is reported within the budget.
    """
    deadline = None if confirm is None else time.monotonic() + 2 * confirm
    wait = timeout
    while True:
        try:
            answer = ask(host, port, "PING", wait)
        except TimeoutError as exc:
            if deadline is None or time.monotonic() >= deadline:
                return False, f"engine unreachable: {exc}"
            wait = min(confirm or timeout, max(0.05, deadline - time.monotonic()))
            continue
        except OSError as exc:
            return False, f"engine unreachable: {exc}"
        return answer == "OK", f"engine answered {answer!r}"


class Monitor:
    def __init__(
        self, config: MonitorConfig, kafka: KafkaSettings, producer: ResilientProducer | None = None,
        auth: ComponentAuth = NO_AUTH,
    ) -> None:
        self.config = config
        self.kafka = kafka
        self.source = f"monitor:{config.cp_id}"
        self.producer = producer or ResilientProducer(kafka, self.source, max_pending=10, seal=auth.sealer)
        self.stopping = threading.Event()
        self._last_ok: bool | None = None
        self.loop = Supervised("beats", self._beats, self.stopping)

    def run(self) -> None:
        log.info("monitor watching engine", extra={"port": self.config.engine_port})
        self.loop.run()
        self.producer.close(drain_timeout=1.0)

    def _beats(self) -> None:
        while not self.stopping.is_set():
            self.wait_next_beat(self.beat())

    def wait_next_beat(self, ok: bool) -> None:
        """Wait one period; while the engine is KO, ask it again every ``RECHECK`` s and return as
        soon as it answers OK, so that its recovery is reported at once.

        A monitor often starts a moment before its engine listens, and an engine comes back after a
        fault: its CP would show ``fault`` until the next beat, up to a whole period, for nothing.
        Only the asking is more frequent; heartbeats still go out once a period (or on recovery).
        """
        deadline = time.monotonic() + self.config.period
        while (remaining := deadline - time.monotonic()) > 0:
            if self.stopping.wait(remaining if ok else min(RECHECK, remaining)):
                return
            if not ok and engine_health(self.config.engine_host, self.config.engine_port, RECHECK)[0]:
                return

    def beat(self) -> bool:
        """Ask the engine and send one heartbeat saying what it answered; returns whether it is OK."""
        ok, detail = engine_health(
            self.config.engine_host, self.config.engine_port, self.config.period / 2, confirm=self.config.period
        )
        if ok != self._last_ok:
            log.log(
                logging.INFO if ok else logging.WARNING,
                "engine health changed",
                extra={"ok": ok, "detail": detail},
            )
            self._last_ok = ok
        message = make(Heartbeat(cp_id=self.config.cp_id, engine_ok=ok, detail=detail[:TEXT_MAX]), self.source)
        self.producer.send(self.kafka.topic(Topics.MONITOR_EVENTS), message, key=self.config.cp_id)
        return ok
