"""Every party's view of who holds what, asked at the end of a run (the agreement-at-end check).

Three parties keep their own record of a charge, and a fault can leave them disagreeing in a way no
single record shows: Central (its database), each CP's engine (what it is supplying, asked on its
health port) and each driver (its requests, asked on its API). Each names what it knows of, by a
holding: a session id, ``reservation <id>``, or None for nothing:

- Central names every CP and every driver it knows;
- an engine names its own CP;
- a driver names itself.

Asked once everything should be quiet; a view that disagrees is asked again for a few seconds
(a ticket on its way is not a disagreement), and the last answers are what the check judges.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chaos.core.history import History
from chaos.core.probes import read_only
from chaos.core.scenario import Scenario
from evcharge.cp.health import ask
from scenarios.ev.driver_api import DriverClient

FINAL = frozenset({"completed", "denied", "failed", "cancelled"})
View = dict[str, str | None]


def central_view(db: Path) -> View:
    """Every CP and every driver, with the session or reservation Central has active for it."""
    connection = read_only(db)
    try:
        view: View = {cp: None for (cp,) in connection.execute("SELECT cp_id FROM cps")}
        view.update({driver: None for (driver,) in connection.execute("SELECT driver_id FROM drivers")})
        for reservation, cp, driver in connection.execute(
                "SELECT reservation_id, cp_id, driver_id FROM reservations WHERE status='active'"):
            view[cp] = view[driver] = f"reservation {reservation}"
        for session, cp, driver in connection.execute(
                "SELECT session_id, cp_id, driver_id FROM sessions WHERE status IN ('active', 'stopping')"):
            view[cp] = view[driver] = session
        return view
    finally:
        connection.close()


def engine_view(cp: str, port: int, timeout: float = 2.0) -> View:
    """The session the engine is supplying (None: idle), from its health port's ``STATUS``."""
    return {cp: json.loads(ask("127.0.0.1", port, "STATUS", timeout)).get("session_id")}


def driver_view(client: DriverClient) -> View:
    """The request this driver has under way (its session, else its reservation), or None."""
    holding: str | None = None
    for request in client.requests():
        if request.get("state") not in FINAL and (request.get("session_id") or request.get("reservation_id")):
            holding = request.get("session_id") or f"reservation {request['reservation_id']}"
    return {client.driver_id: holding}


def askers(scenario: Scenario, db: Path, drivers: Mapping[str, DriverClient]) -> dict[str, Callable[[], View]]:
    parties: dict[str, Callable[[], View]] = {"central": lambda: central_view(db)}
    for service in scenario.spec.services:
        if service.name.startswith("cp-"):
            argv = list(scenario.system.services[service.name].argv)
            port, cp = int(argv[argv.index("--health-port") + 1]), service.name.removeprefix("cp-")
            parties[service.name] = lambda cp=cp, port=port: engine_view(cp, port)  # type: ignore[misc]
    for client in drivers.values():
        parties[client.service] = lambda client=client: driver_view(client)  # type: ignore[misc]
    return parties


def take(parties: Mapping[str, Callable[[], View]]) -> tuple[dict[str, View], dict[str, str]]:
    views: dict[str, View] = {}
    errors: dict[str, str] = {}
    for party, question in parties.items():
        try:
            views[party] = question()
        except (OSError, ValueError, sqlite3.Error) as exc:
            errors[party] = f"{type(exc).__name__}: {exc}"
    return views, errors


def agree(views: Mapping[str, View]) -> bool:
    said: dict[str, set[str]] = {}
    for view in views.values():
        for resource, holding in view.items():
            said.setdefault(resource, set()).add(str(holding))
    return all(len(holdings) == 1 for holdings in said.values())


def record_driver_tickets(history: History, drivers: Mapping[str, DriverClient]) -> int:
    """Every ticket each driver's own record holds, as ``ticket`` events (``source: driver record``).

    The clients' side of exactly-once is what the drivers were handed, and a driver keeps a ticket
    that came after its request had ended (a charge cancelled just as its session started is still
    billed for the energy supplied meanwhile), which following a request to its end never sees."""
    count = 0
    for client in drivers.values():
        try:
            requests = client.requests()
        except (OSError, ValueError) as exc:
            history.note(f"could not read {client.service}'s requests", error=f"{type(exc).__name__}: {exc}")
            continue
        for request in requests:
            ticket = request.get("ticket") or {}
            if ticket:
                count += 1
                history.record("ticket", process=client.service, resource=ticket.get("cp_id"),
                               holder=client.driver_id, session=ticket.get("session_id"),
                               request_id=request.get("request_id"), ticket=ticket.get("ticket_id"),
                               quantity=ticket.get("kwh"), amount=ticket.get("price_eur"), source="driver record")
    return count


def record_views(history: History, scenario: Scenario, db: Path, drivers: Mapping[str, DriverClient],
                 settle: float = 3.0) -> dict[str, Any]:
    """Ask every party; while they disagree, ask again for up to ``settle`` s; record the last answers."""
    parties = askers(scenario, db, drivers)
    deadline = time.monotonic() + settle
    while True:
        views, errors = take(parties)
        if (agree(views) and not errors) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    history.record("views", views=views, errors=errors)
    return views
