"""An EV scenario: the generic ``Scenario`` with the EV network's drivers as its clients.

What a suite may do with a run is spelled out here, method by method, instead of forwarding any
attribute to the wrapped scenario: a suite then reads as a use of this class, mypy checks it, and a
change in ``chaos.core.scenario`` shows up in one file. Anything else is reached explicitly through
``run.scenario`` (its spec, invariants, system values), which says the suite leaves the EV layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

from chaos.core.history import History
from chaos.core.scenario import Scenario
from chaos.faults.base import BaseFault
from chaos.infra.service import Service
from chaos.nemesis import Schedule
from scenarios.ev.central_records import record_central
from scenarios.ev.charge import POLL, Charge
from scenarios.ev.driver_api import DriverClient
from scenarios.ev.meter_records import record_meters, state_file
from scenarios.ev.parallel import in_parallel
from scenarios.ev.views import record_driver_tickets, record_views

T = TypeVar("T")

TRANSIENT_DENIALS = frozenset({"no_cp_available", "cp_faulty"})
"""Denials a driver meets while every CP is busy or one is briefly reported faulty: it asks again."""
THINK_S = 1.0
"""How long a denied driver waits before asking again."""
FRESH_CHARGE_S = 0.2
"""Seconds of energy the fresh request after the heal asks for."""


class EvScenario:
    """A ``chaos.core.scenario.Scenario`` of the EV network, with its drivers as clients."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.drivers = {
            s.name.removeprefix("driver-"): DriverClient(scenario, s.name)
            for s in scenario.spec.services if s.name.startswith("driver-")
        }
        self.charges: list[Charge] = []
        """Every charge asked for, in order: ``finish`` waits for each, a suite may pick the last."""
        scenario.clients = self  # the test map's workload plays its clients through this object
        scenario.gatherers += [  # asked at the end whatever happened: before any judging, before the kill
            ("views", lambda: record_views(self.history, scenario, self.db, self.drivers)),
            ("driver tickets", lambda: record_driver_tickets(self.history, self.drivers)),
            ("central db", lambda: record_central(self.history, self.db)),
            ("cp meters", lambda: record_meters(self.history, self.meters)),
        ]

    # -- the wrapped scenario, as the suites use it ------------------------------------------------
    @property
    def history(self) -> History:
        """The run's history: suites read its clock and events, and add notes to explain a story."""
        return self.scenario.history

    def start(self, *names: str, wait: bool = True) -> None:
        """Start services by name (all if none given), together; see ``Scenario.start``."""
        self.scenario.start(*names, wait=wait)

    def service(self, name: str) -> Service:
        """One service's process, for a suite that checks it directly (e.g. that a kill took)."""
        return self.scenario.service(name)

    def fault(
        self, kind: str, target: str, params: Mapping[str, object] | None = None
    ) -> AbstractContextManager[BaseFault]:
        """One fault for the duration of a ``with`` block, healed and recorded; see ``Scenario.fault``."""
        return self.scenario.fault(kind, target, params)

    def run_schedule(self, schedule: Schedule) -> Schedule:
        """Run a fault timeline to its end; return what really ran (the replay of a failing seed)."""
        return self.scenario.run_schedule(schedule)

    def run(self) -> Schedule | None:
        """Run the test map: its workload (given this object as its clients) beside its nemesis."""
        return self.scenario.run()

    def playing(self) -> AbstractContextManager[None]:
        """The test map's workload, playing for the duration of a ``with`` block; see ``Scenario.playing``."""
        return self.scenario.playing()

    def wait_for(self, what: str, condition: Callable[[], T | None], timeout: float, every: float = 0.05) -> T:
        """Poll ``condition`` until truthy; fail naming ``what`` (and the scenario) after ``timeout``."""
        return self.scenario.wait_for(what, condition, timeout, every)

    def states(self) -> dict[str, str]:
        """The CP states right now, as Central's database says (the probe), not as a driver believes."""
        return self.scenario.states()

    # -- the EV network --------------------------------------------------------------------------
    @property
    def db(self) -> Path:
        """Central's database, the record the checks trust."""
        return Path(self.scenario.system.values["db"])

    @property
    def meters(self) -> dict[str, Path]:
        """Each CP's state file, where its engine keeps what it metered (``meter_records``)."""
        workdir = self.scenario.system.values["workdir"]
        cps = [s.name.removeprefix("cp-") for s in self.scenario.spec.services if s.name.startswith("cp-")]
        return {cp: Path(state_file(cp).format(workdir=workdir)) for cp in cps}

    def charge(
        self, driver: str = "D1", cp_id: str | None = None, duration_s: float | None = None, f: str = "charge",
        poll: float = POLL,
    ) -> Charge:
        """Ask ``driver`` for a charge (a CP, or any); it is followed in the background until it ends.

        ``f`` names the operation in the history: a scenario that kills the driver on purpose gives
        its request another name, so the request rule does not judge a request whose client it killed.
        ``poll``: seconds between two questions to the driver (a workload of many drivers asks less often).
        """
        charge = Charge(self.drivers[driver], cp_id, duration_s, f, poll).begin()
        self.charges.append(charge)
        return charge

    def wait_cps(self, state: str = "available", timeout: float = 30.0) -> None:
        """Wait until every CP is registered at Central in ``state`` (the monitors have reported)."""
        cps = [s.name.removeprefix("monitor-") for s in self.scenario.spec.services if s.name.startswith("monitor-")]
        self.wait_for(f"CPs {cps} {state}", lambda: all(self.states().get(cp) == state for cp in cps), timeout)

    def warm_drivers(self, timeout: float = 30.0) -> None:
        """Have every driver list the CPs through Central, so its producer and consumer are connected.

        Faults that stall only one direction of a link need a connected client: a client still
        connecting needs both directions for its handshake.
        """
        def lists_cps(client: DriverClient) -> Callable[[], object]:
            return lambda: self.wait_for(f"{client.service} lists CPs", lambda: client.list_cps(timeout=10), timeout)

        in_parallel([lists_cps(client) for client in self.drivers.values()])

    def ready(self, warm: bool = False, timeout: float = 30.0) -> None:
        """Every CP registered ``available`` and (with ``warm``) every driver connected, waited for together."""
        in_parallel([lambda: self.wait_cps(timeout=timeout), *([lambda: self.warm_drivers(timeout)] if warm else [])])

    def wait_cp(self, cp: str, state: str, timeout: float = 30.0) -> None:
        """Wait until Central has ``cp`` in ``state``."""
        self.wait_for(f"{cp} {state}", lambda: self.states().get(cp) == state, timeout)

    def idle_driver(self, timeout: float = 30.0) -> str:
        """A driver with no charge under way (a driver may hold one charge at a time), waiting for one."""
        def idle() -> str | None:
            busy = {c.client.driver_id for c in self.charges if not c.done.is_set()}
            return next((d for d in sorted(self.drivers, reverse=True) if d not in busy), None)

        return self.wait_for("a driver with no charge under way", idle, timeout)

    def fresh_charge(self, driver: str | None = None, timeout: float = 30.0, wait: bool = True) -> Charge:
        """After the last heal: a new, short request, which must be served (this is what recovery measures).

        Short (``FRESH_CHARGE_S``): it proves the network serves again end to end, ticket included,
        and its length is paid by every scenario. With ``wait``, waits until it is served or
        ``timeout`` passes, and never raises: whether it was served in time is the recovery check's
        verdict, not this client's.
        """
        charge = self.charge(driver or self.idle_driver(), duration_s=FRESH_CHARGE_S)
        if wait:
            try:
                charge.wait({"charging", "completed"}, timeout)
            except (AssertionError, TimeoutError) as exc:
                self.history.note("fresh request not served", error=str(exc))
        return charge

    def ask_again_while_denied(self, charge: Charge) -> Charge:
        """Ask again, as a driver would, while the fresh request is denied for a passing reason.

        A CP briefly reported faulty (an engine starved of CPU for a second after a broker came back
        answers its monitor late, and the monitor rightly says KO) or every CP busy is an honest
        answer; a driver meeting it asks again. The harness used to ask once, and failed the
        recovery check on a system that was right. Retries stop at the recovery limit after the
        first fresh request, so a network that stays broken still fails it.
        """
        window = self.scenario.invariants.recovery_within or 20.0
        until = (charge.invoked_t or self.history.clock.now()) + window
        while True:
            answered = lambda c=charge: c.done.is_set() or c.state in ("charging", "stopping", "completed")  # noqa: E731
            try:
                self.wait_for("the fresh request answered", answered, max(1.0, until - self.history.clock.now()))
            except (AssertionError, TimeoutError):
                return charge  # not answered in time: the recovery check says so
            denied = charge.state == "denied" and charge.snapshot.get("reason") in TRANSIENT_DENIALS
            if not denied or self.history.clock.now() + THINK_S >= until:
                return charge
            time.sleep(THINK_S)  # the driver's think time before asking again, not a wait for a condition
            charge = self.charge(charge.client.driver_id, duration_s=FRESH_CHARGE_S)

    def finish(self, timeout: float = 30.0) -> None:
        """Let every charge end, then judge and assert (the evidence, every party's view, the drivers'
        tickets and Central's records included, is gathered then: see ``__init__``)."""
        deadline = time.monotonic() + timeout
        for charge in self.charges:
            charge.finish(max(0.1, deadline - time.monotonic()))
        self.scenario.assert_invariants()
