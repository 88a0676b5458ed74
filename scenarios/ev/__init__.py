"""The EV network's clients for the harness: drivers asked for charges through their HTTP API.

This is the "generator" side of a scenario (what clients do), kept apart from the faults and the
checks, in four parts that change for different reasons:

- ``driver_api``: the driver's HTTP API (``DriverClient``), the only place that knows its paths;
- ``charge``: one charge as an operation in the history (``Charge``), followed until it ends;
- ``central_records``: Central's database, read once at the end and placed in the history;
- ``scenario``: ``EvScenario``, what a suite does with a run;
- ``grants``: what each component may do on a secured cluster (spec data, used by ``ev_spec``).

Everything a suite imports is re-exported here, so ``from scenarios.ev import X`` is the one way in.
"""

from __future__ import annotations

from scenarios.ev.central_records import record_central
from scenarios.ev.charge import FAILED_STATES, POLL, Charge
from scenarios.ev.driver_api import DriverClient
from scenarios.ev.parallel import in_parallel
from scenarios.ev.scenario import FRESH_CHARGE_S, EvScenario

__all__ = [
    "FAILED_STATES",
    "FRESH_CHARGE_S",
    "POLL",
    "Charge",
    "DriverClient",
    "EvScenario",
    "in_parallel",
    "record_central",
]
