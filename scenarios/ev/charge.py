"""One charge request, as a client operation in the history, followed in a background thread.

The checks read a charge only through what is recorded here, so the events are a contract: one
operation (``charge`` unless renamed) invoked when the driver's API is asked; ``ok`` once the driver
reports the charge running (value: the CP as ``resource``, the driver as ``holder``, the
``session``, the ``request_id``); ``fail`` when the driver ends it with a reason (denied, reservation
expired, deadline passed); ``unknown`` if the driver could not be asked any more. When the driver
reports the charge completed, a ``ticket`` event follows with the same fields and the ticket (its
id as ``ticket``, its kWh as ``quantity``, its price as ``amount``). ``stop`` is an operation of its
own (``stop``): ok when the driver took the order, fail if it refused, unknown if it did not answer.

Following by polling, not by callbacks: a driver under a fault may be killed, paused or restarted,
and only an outside poller can tell those apart (no answer, no answer for ever, forgotten request).
"""

from __future__ import annotations

import threading
import time
import urllib.error
from typing import Any

from scenarios.ev.driver_api import DriverClient

FAILED_STATES = frozenset({"denied", "failed", "cancelled"})
POLL = 0.05
"""Seconds between two questions to the driver about a request."""


class Charge:
    """One charge request, followed to its end; ``state`` is the driver's latest word on it."""

    def __init__(
        self, client: DriverClient, cp_id: str | None, duration_s: float | None, f: str, poll: float = POLL
    ) -> None:
        self.client, self.cp_id, self.duration_s, self.f, self.poll = client, cp_id, duration_s, f, poll
        self.history = client.scenario.history
        self.request_id: str | None = None
        self.invoked_t: float | None = None
        self.state = "new"
        self.seen: list[str] = []
        self.snapshot: dict[str, Any] = {}
        self.done = threading.Event()
        self._op: int | None = None
        self._thread: threading.Thread | None = None

    def begin(self) -> Charge:
        """Record the invocation, ask the driver, and follow the request in the background.

        A refused request is a ``fail`` at once (the driver said no, nothing is under way), not an
        exception: a scenario's story goes on, and the checks judge it.
        """
        self.invoked_t = self.history.clock.now()
        self._op = self.history.invoke(self.client.service, self.f, {"cp_id": self.cp_id}, resource=self.cp_id)
        try:
            answer = self.client.request_charge(self.cp_id, self.duration_s)
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
        self._thread = threading.Thread(
            target=self._follow, args=(answer["request_id"],), name=f"follow-{self.request_id}", daemon=True
        )
        self._thread.start()
        return self

    # -- following -------------------------------------------------------------------------------
    def _follow(self, request_id: str) -> None:
        """Poll until the charge ends; give up as ``unknown`` a minute past the request's deadline."""
        deadline = time.monotonic() + (self.client.scenario.invariants.request_deadline or 60.0) + 60.0
        last_error = "no answer"
        while not self.done.is_set():
            if time.monotonic() > deadline:
                self._end("unknown", f"the driver never finished the request ({last_error})")
                return
            try:
                self._observe(self.client.request_status(request_id))
            except urllib.error.HTTPError as exc:
                if exc.code == 404:  # a restarted driver forgot it: nobody can tell how it ended
                    self._end("unknown", "the driver no longer knows this request (it was restarted)")
                    return
                last_error = f"HTTP {exc.code}"
            except (OSError, ValueError, KeyError) as exc:  # killed or paused by a fault, or a bad answer
                last_error = f"{type(exc).__name__}: {exc}"
            self.done.wait(self.poll)

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
            ticket = snapshot.get("ticket") or {}
            self.history.record("ticket", process=self.client.service, **self._fields(),
                                ticket=ticket.get("ticket_id"), quantity=ticket.get("kwh"),
                                amount=ticket.get("price_eur"), reason=ticket.get("reason"))
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

    def stop(self) -> None:
        """Ask the driver to stop this charge (or cancel it, if it is not charging yet), as an operation."""
        if self.request_id is None:
            return
        op = self.history.invoke(self.client.service, "stop", {"request_id": self.request_id},
                                 resource=self.snapshot.get("cp_id") or self.cp_id)
        try:
            answer = self.client.stop_request(self.request_id)
        except urllib.error.HTTPError as exc:
            self.history.fail(op, f"the driver refused the stop: HTTP {exc.code}")
            return
        except (OSError, ValueError) as exc:
            self.history.unknown(op, f"the driver did not answer the stop: {exc}")
            return
        self.history.ok(op, {"state": answer.get("state") if isinstance(answer, dict) else None})

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

    def wait_quietly(self, states: set[str], timeout: float) -> bool:
        """``wait`` for a workload: True once in one of ``states``, False if the charge ended or the
        time passed first (a workload goes on; the checks judge how the charge ended)."""
        try:
            self.wait(states, timeout)
        except (AssertionError, TimeoutError):
            return False
        return True

    def finish(self, timeout: float) -> None:
        """Wait for the end, at most ``timeout`` and never past the request's deadline; stop following.

        Never past the deadline: a charge still open then is the checks' finding, and waiting longer
        would only make every failing scenario slower.
        """
        deadline = self.client.scenario.invariants.request_deadline
        if deadline is not None and self.invoked_t is not None:
            timeout = min(timeout, max(0.0, self.invoked_t + deadline + 1.0 - self.history.clock.now()))
        self.done.wait(timeout)
        self.done.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
