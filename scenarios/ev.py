"""The EV network's clients for the harness: drivers asked for charges through their HTTP API.

This is the "generator" side of a scenario (what clients do), kept apart from the faults and the
checks. Every charge is one ``charge`` operation in the history: invoked when the driver's API
accepts it, ``ok`` once the driver reports the charge running (value: the CP as ``resource``, the
driver as ``holder``, the ``session``), ``fail`` when the driver ends it with a reason (denied,
reservation expired, deadline passed), ``unknown`` if the driver could not be asked any more. When
the driver receives the ticket, a ``ticket`` event follows. At the end, Central's database is read
once more, and each session is placed in the history at the times Central wrote (``acquired`` and
``released`` of its CP, ``session_end``), with every ticket Central issued (``db_ticket``): the
checks judge CP allocation by Central's own record, and compare the sessions it closed with the
tickets drivers received.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.core.scenario import Scenario

FAILED_STATES = frozenset({"denied", "failed", "cancelled"})
POLL = 0.05
FRESH_CHARGE_S = 0.2
"""Seconds of energy the fresh request after the heal asks for."""


def in_parallel(waits: list[Callable[[], object]]) -> None:
    """Run independent waits together (each in its own thread); re-raise the first failure.

    Waiting for the CPs and for each driver one after another cost their sum on every scenario's
    start; together they cost the longest.
    """
    errors: list[BaseException] = []

    def run(wait: Callable[[], object]) -> None:
        try:
            wait()
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in waits[1:]]
    for thread in threads:
        thread.start()
    run(waits[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class DriverClient:
    """One driver process's HTTP API (``driver-D1`` ...)."""

    def __init__(self, scenario: Scenario, service: str) -> None:
        self.scenario, self.service = scenario, service
        self.driver_id = service.removeprefix("driver-")
        argv = list(scenario.system.services[service].argv)
        self.port = int(argv[argv.index("--api-port") + 1])

    def api(self, path: str, body: dict[str, Any] | None = None, timeout: float = 3.0) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method="POST" if data is not None else "GET",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def charge(self, cp_id: str | None = None, duration_s: float | None = None, f: str = "charge") -> Charge:
        """Ask for a charge (a CP, or any); it is followed in the background until it ends.

        ``f`` names the operation in the history: a scenario that kills the driver on purpose gives
        its request another name, so the request rule does not judge a request whose client it killed.
        """
        return Charge(self, cp_id, duration_s, f).begin()


class Charge:
    """One charge request, followed to its end; ``state`` is the driver's latest word on it."""

    def __init__(self, client: DriverClient, cp_id: str | None, duration_s: float | None, f: str) -> None:
        self.client, self.cp_id, self.duration_s, self.f = client, cp_id, duration_s, f
        self.history = client.scenario.history
        self.request_id: str | None = None
        self.state = "new"
        self.seen: list[str] = []
        self.snapshot: dict[str, Any] = {}
        self.done = threading.Event()
        self._op: int | None = None
        self._thread: threading.Thread | None = None

    def begin(self) -> Charge:
        self.invoked_t: float | None = self.history.clock.now()
        self._op = self.history.invoke(self.client.service, self.f, {"cp_id": self.cp_id}, resource=self.cp_id)
        try:
            answer = self.client.api("/charge", {"cp_id": self.cp_id, "duration_s": self.duration_s})
        except (OSError, ValueError) as exc:
            self.history.fail(self._op, f"the driver's API refused the request: {exc}")
            self.done.set()
            return self
        if "request_id" not in answer:
            self.history.fail(self._op, f"the driver's API answered without a request id: {answer}")
            self.done.set()
            return self
        self.request_id = answer["request_id"]
        self._observe(answer)
        self._thread = threading.Thread(target=self._follow, name=f"follow-{self.request_id}", daemon=True)
        self._thread.start()
        return self

    # -- following -------------------------------------------------------------------------------
    def _follow(self) -> None:
        deadline = time.monotonic() + (self.client.scenario.invariants.request_deadline or 60.0) + 60.0
        last_error = "no answer"
        while not self.done.is_set():
            if time.monotonic() > deadline:
                self._end("unknown", f"the driver never finished the request ({last_error})")
                return
            try:
                self._observe(self.client.api(f"/requests/{self.request_id}"))
            except urllib.error.HTTPError as exc:
                if exc.code == 404:  # a restarted driver forgot it: nobody can tell how it ended
                    self._end("unknown", "the driver no longer knows this request (it was restarted)")
                    return
                last_error = f"HTTP {exc.code}"
            except (OSError, ValueError, KeyError) as exc:  # killed or paused by a fault, or a bad answer
                last_error = f"{type(exc).__name__}: {exc}"
            self.done.wait(POLL)

    def _observe(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        state = snapshot["state"]
        if state != self.state:
            self.state = state
            self.seen.append(state)
        if state in ("charging", "stopping", "completed") and self._op is not None:
            self._end("ok")
        if state in FAILED_STATES:
            self._end("fail", f"{state}: {snapshot.get('reason')}")
        if state == "completed":
            fields = self._fields()
            self.history.record("ticket", process=self.client.service, **fields, ticket=snapshot.get("ticket"))
            self.done.set()

    def _fields(self) -> dict[str, Any]:
        return {
            "resource": self.snapshot.get("cp_id"),
            "holder": self.client.driver_id,
            "session": self.snapshot.get("session_id"),
            "request_id": self.request_id,
        }

    def _end(self, outcome: str, error: str | None = None) -> None:
        """Complete the operation once; a failure or unknown also ends the following."""
        if self._op is not None:
            fields = self._fields()
            self.history.complete(self._op, outcome, fields, error=error, resource=fields["resource"])
            self._op = None
        if outcome != "ok":
            self.done.set()

    # -- waiting ---------------------------------------------------------------------------------
    def wait(self, states: set[str], timeout: float) -> str:
        """Wait until the driver has reported one of ``states`` (or the charge ended); return the state."""
        deadline = time.monotonic() + timeout
        while not (set(self.seen) & states):
            if self.done.is_set() and not (set(self.seen) & states):
                raise AssertionError(f"charge {self.request_id} ended {self.state} ({self.snapshot.get('reason')}) "
                                     f"before reaching {sorted(states)}; seen {self.seen}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"charge {self.request_id} not in {sorted(states)} within {timeout:.0f} s; "
                                   f"seen {self.seen}")
            time.sleep(0.05)
        return self.state

    def finish(self, timeout: float) -> None:
        """Wait for the end, at most ``timeout`` and never past the request's deadline; stop following."""
        deadline = self.client.scenario.invariants.request_deadline
        if deadline is not None and self.invoked_t is not None:
            timeout = min(timeout, max(0.0, self.invoked_t + deadline + 1.0 - self.history.clock.now()))
        self.done.wait(timeout)
        self.done.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


class EvScenario:
    """A ``chaos.core.scenario.Scenario`` of the EV network, with its drivers as clients."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.history = scenario.history
        self.drivers = {
            s.name.removeprefix("driver-"): DriverClient(scenario, s.name)
            for s in scenario.spec.services if s.name.startswith("driver-")
        }
        self.charges: list[Charge] = []

    def __getattr__(self, name: str) -> Any:  # start, fault, run_schedule, wait_for, states, ...
        return getattr(self.scenario, name)

    @property
    def db(self) -> Path:
        return Path(self.scenario.system.values["db"])

    def charge(
        self, driver: str = "D1", cp_id: str | None = None, duration_s: float | None = None, f: str = "charge"
    ) -> Charge:
        charge = self.drivers[driver].charge(cp_id, duration_s, f)
        self.charges.append(charge)
        return charge

    def wait_cps(self, state: str = "available", timeout: float = 30.0) -> None:
        """Wait until every CP is registered at Central in ``state`` (the monitors have reported)."""
        cps = [s.name.removeprefix("monitor-") for s in self.scenario.spec.services if s.name.startswith("monitor-")]
        self.scenario.wait_for(
            f"CPs {cps} {state}", lambda: all(self.scenario.states().get(cp) == state for cp in cps), timeout
        )

    def warm_drivers(self, timeout: float = 30.0) -> None:
        """Have every driver list the CPs through Central, so its producer and consumer are connected.

        Faults that stall only one direction of a link need a connected client: a client still
        connecting needs both directions for its handshake.
        """
        def lists_cps(client: DriverClient) -> Callable[[], object]:
            return lambda: self.scenario.wait_for(
                f"{client.service} lists CPs", lambda: client.api("/cps", timeout=10), timeout
            )

        in_parallel([lists_cps(client) for client in self.drivers.values()])

    def ready(self, warm: bool = False, timeout: float = 30.0) -> None:
        """Every CP registered ``available`` and (with ``warm``) every driver connected, waited for together."""
        in_parallel([lambda: self.wait_cps(timeout=timeout), *([lambda: self.warm_drivers(timeout)] if warm else [])])

    def wait_cp(self, cp: str, state: str, timeout: float = 30.0) -> None:
        self.scenario.wait_for(f"{cp} {state}", lambda: self.scenario.states().get(cp) == state, timeout)

    def idle_driver(self, timeout: float = 30.0) -> str:
        """A driver with no charge under way (a driver may hold one charge at a time), waiting for one."""
        def idle() -> str | None:
            busy = {c.client.driver_id for c in self.charges if not c.done.is_set()}
            return next((d for d in sorted(self.drivers, reverse=True) if d not in busy), None)

        return self.scenario.wait_for("a driver with no charge under way", idle, timeout)

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

    def finish(self, timeout: float = 30.0) -> None:
        """Let every charge end, then record Central's closed sessions and tickets; judge and assert."""
        deadline = time.monotonic() + timeout
        for charge in self.charges:
            charge.finish(max(0.1, deadline - time.monotonic()))
        self.record_central()
        self.scenario.assert_invariants()

    def record_central(self) -> None:
        """Record, from Central's database, each session it closed and each ticket it issued."""
        try:
            db = sqlite3.connect(f"{self.db.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
            try:
                clock = self.history.clock
                sessions = db.execute("SELECT session_id, cp_id, driver_id, started_at, ended_at FROM sessions")
                for session, cp, driver, started, ended in sessions.fetchall():
                    fields = {"session": session, "resource": cp, "holder": driver, "source": "central db"}
                    self.history.record("acquired", t=clock.at(started), **fields)
                    if ended is not None:
                        self.history.record("released", t=clock.at(ended), **fields)
                        self.history.record("session_end", t=clock.at(ended), **fields)
                for session, cp in db.execute("SELECT session_id, cp_id FROM tickets").fetchall():
                    self.history.record("db_ticket", session=session, resource=cp)
            finally:
                db.close()
        except sqlite3.Error as exc:
            self.history.note("could not read Central's database", error=str(exc))
