"""Start-order faults: a service starts while Kafka is not there yet, and Kafka arrives N s later.

Two forms, as kinds in ``chaos.faults.kinds``:

- ``before-proxies``: cut the service's role links, (re)start the service; heal enables the links.
  On a broker shared by many scenarios this is the cheap, practical form: Kafka is up but the
  service cannot reach it, exactly as if it had started first.
- ``before-kafka``: stop every broker, (re)start the service; heal starts the brokers again and
  waits until the cluster serves. Slower, but it is the real thing (brokers also come up fresh).

In a schedule the step's duration is the head start: ``{at: 0, kind: before-kafka, target: driver,
duration: 5}``. In a test, ``started_early`` does the same as a context manager. The heal does not
restart the service if it died meanwhile: a service that cannot survive starting first is the
finding, and restarting it would hide it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chaos.core.history import History
from chaos.faults.base import BaseFault, Param, applied
from chaos.faults.context import FaultContext
from chaos.faults.params import FaultSpecError
from chaos.infra.backends.base import Lifecycle


class StartEarlyFault(BaseFault):
    """(Re)start a service while Kafka is unavailable to it; subclasses make Kafka unavailable."""

    PARAMS = {"role": Param(None, "the service's Kafka role, if the context's roles do not say", str)}
    before = ""

    def setup(self) -> None:
        if self.target not in self.ctx.services:
            known = ", ".join(sorted(self.ctx.services)) or "none in this context"
            raise FaultSpecError(
                f"fault {self.kind!r}: the target must be a service name ({known}), not {self.target!r}"
            )
        self.service: Lifecycle = self.ctx.services[self.target]

    def describe(self) -> str:
        return f"{self.target} started before {self.before}"

    def make_kafka_unavailable(self) -> None:
        raise NotImplementedError

    def _apply(self) -> None:
        service = self.service
        was_running = service.is_running()
        # Only if apply fails is the service brought back; once started early, it is on its own.
        restore = self.on_heal(f"start {service.name} again", lambda: was_running and service.start(wait=False))
        service.stop()
        self.make_kafka_unavailable()
        service.start(wait=False)
        self.forget(restore)


@contextmanager
def started_early(
    ctx: FaultContext,
    service: str,
    lead: float = 0.0,
    before: str = "kafka",
    history: History | None = None,
    **params: Any,
) -> Iterator[BaseFault]:
    """``with started_early(ctx, "driver", lead=5):`` the driver starts, and Kafka comes ``lead`` s later.

    The body runs while Kafka is unavailable (to issue requests that must wait or fail cleanly); on
    exit it waits out what is left of ``lead`` and heals. ``before`` is ``"kafka"`` or ``"proxies"``.
    With a ``history``, the fault window is recorded like the nemesis runner records it.
    """
    fault = ctx.make_fault(f"before-{before}", service, params)
    started = time.monotonic()
    with applied(fault, history):
        yield fault
        remaining = lead - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)  # the head start is the fault itself, not a wait for a condition
