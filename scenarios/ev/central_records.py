"""Central's own record of the run, read from its database and placed in the history.

The checks judge CP allocation by what Central wrote, not by what drivers believed, and compare the
sessions Central closed with the tickets drivers received. So, once at the end, each reservation and
each session becomes ``acquired`` (its CP, at its start) and, once ended, ``released`` (a closed
session also ``session_end``), all tagged ``source: central db``; each ticket Central issued becomes
``db_ticket`` (at its creation, with its kWh as ``quantity``, its price as ``amount`` and the
session's tariff as ``rate``). Times are Central's, mapped onto the history's clock, so events land
where they happened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from chaos.core.history import History
from chaos.core.probes import read_only


def record_central(history: History, db: Path) -> None:
    """Record, from Central's database, each session it closed and each ticket it issued.

    Read-only (``mode=ro``): Central may still be running, and the harness must not be able to
    change what it judges. An unreadable database is a note, not an error: the checks that need
    these events then say what is missing.
    """
    try:
        connection = read_only(db)
        try:
            clock = history.clock
            reservations = connection.execute(
                "SELECT reservation_id, request_id, cp_id, driver_id, created_at, ended_at FROM reservations")
            record_grants(history, "reservation", ("released",), (
                ({"reservation": r, "request": q, "resource": cp, "holder": d}, start, end)
                for r, q, cp, d, start, end in reservations.fetchall()))
            sessions = connection.execute(
                "SELECT session_id, reservation_id, cp_id, driver_id, started_at, ended_at FROM sessions")
            record_grants(history, "session", ("released", "session_end"), (
                ({"session": s, "reservation": r, "resource": cp, "holder": d}, start, end)
                for s, r, cp, d, start, end in sessions.fetchall()))
            tickets = connection.execute(
                "SELECT t.ticket_id, t.session_id, t.cp_id, t.driver_id, t.kwh, t.price_eur, s.price_eur_kwh,"
                " t.created_at FROM tickets t LEFT JOIN sessions s ON s.session_id = t.session_id")
            for ticket, session, cp, driver, kwh, price, rate, created in tickets.fetchall():
                history.record("db_ticket", t=clock.at(created), ticket=ticket, session=session, resource=cp,
                               holder=driver, quantity=kwh, amount=price, rate=rate, source="central db")
        finally:
            connection.close()
    except sqlite3.Error as exc:
        history.note("could not read Central's database", error=str(exc))


def record_grants(
    history: History, grant: str, ended: tuple[str, ...],
    rows: Iterable[tuple[dict[str, Any], float, float | None]],
) -> None:
    """Each grant (its fields, start, end) as ``acquired`` at its start and, once it ended, each of
    ``ended`` at its end; tagged with what kind of ``grant`` it is and ``source: central db``."""
    for fields, start, end in rows:
        tagged = {**fields, "grant": grant, "source": "central db"}
        history.record("acquired", t=history.clock.at(start), **tagged)
        if end is not None:
            for event in ended:
                history.record(event, t=history.clock.at(end), **tagged)
