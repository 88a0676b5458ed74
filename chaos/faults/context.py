"""What a fault acts on: the infrastructure backend and the running services of the system under test.

A schedule names faults as ``(kind, target, params)``; binding them to a context turns that data
into live faults, so ``FaultContext.make_fault`` is exactly the ``FaultFactory`` the nemesis runner
takes: ``ScheduleRunner(schedule, ctx.make_fault, history)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaos.faults.registry import make_fault
from chaos.infra.backends.base import Infra, Lifecycle

if TYPE_CHECKING:
    from chaos.faults.base import BaseFault


@dataclass
class FaultContext:
    """The backend, the system's services by name, and (for start-order faults) each service's Kafka role.

    ``broker_timeout`` bounds how long healing a broker fault waits for the cluster to serve again;
    ``topic_prefix`` is the run's, so a message fault aimed at ``driver-requests`` writes into this
    run's topic and no other.
    """

    infra: Infra
    services: Mapping[str, Lifecycle] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)
    broker_timeout: float = 90.0
    topic_prefix: str = ""
    failpoints: Mapping[str, Path] = field(default_factory=dict)
    """Service -> the file it reads armed failpoints from (for ``kill-at``)."""
    forger: Callable[[str], Sequence[tuple[bytes, str]]] | None = None
    """Topic -> the system's forged records for it (``SystemSpec.forgeries``, bound to this run)."""

    def make_fault(self, kind: str, target: str, params: Mapping[str, Any] | None = None) -> BaseFault:
        """A fault of ``kind`` on ``target``, validated now, not yet applied."""
        return make_fault(self, kind, target, params)
