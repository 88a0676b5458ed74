"""Link cuts for tests and benchmarks outside a scenario, through the one ``link-down`` fault.

There used to be a second API on the backend (``infra.cut`` / ``infra.heal``) whose heal enabled
every proxy of the role and removed *every* toxic on it, another fault's included. Now every cut,
in a scenario or not, is the ``link-down`` fault, healed by its undo stack: exactly what it did.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from chaos.faults.base import BaseFault, applied
from chaos.faults.context import FaultContext

if TYPE_CHECKING:
    from chaos.core.history import History
    from chaos.infra.backends.base import Infra


def cut(infra: Infra, target: str) -> BaseFault:
    """Take ``target``'s links down now (``"driver"``, ``"driver@2"``); ``.heal()`` brings back exactly those."""
    fault = FaultContext(infra).make_fault("link-down", target)
    fault.apply()
    return fault


@contextmanager
def link_down(infra: Infra, target: str, history: History | None = None) -> Iterator[BaseFault]:
    """``with link_down(infra, "driver"):`` the links are down inside, healed after (recorded with a history)."""
    with applied(FaultContext(infra).make_fault("link-down", target), history) as fault:
        yield fault
