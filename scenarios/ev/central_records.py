"""Central's own record of the run, read from its database and placed in the history.

The checks judge CP allocation by what Central wrote, not by what drivers believed, and compare the
sessions Central closed with the tickets drivers received. So, once at the end, each session becomes
``acquired`` (its CP, at ``started_at``) and, if closed, ``released`` and ``session_end`` (at
``ended_at``), all tagged ``source: central db``; each ticket Central issued becomes ``db_ticket``.
Times are Central's, mapped onto the history's clock, so events land where they happened.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chaos.core.history import History


def record_central(history: History, db: Path) -> None:
    """Record, from Central's database, each session it closed and each ticket it issued.

    Read-only (``mode=ro``): Central may still be running, and the harness must not be able to
    change what it judges. An unreadable database is a note, not an error: the checks that need
    these events then say what is missing.
    """
    try:
        connection = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            clock = history.clock
            sessions = connection.execute("SELECT session_id, cp_id, driver_id, started_at, ended_at FROM sessions")
            for session, cp, driver, started, ended in sessions.fetchall():
                fields = {"session": session, "resource": cp, "holder": driver, "source": "central db"}
                history.record("acquired", t=clock.at(started), **fields)
                if ended is not None:
                    history.record("released", t=clock.at(ended), **fields)
                    history.record("session_end", t=clock.at(ended), **fields)
            for session, cp in connection.execute("SELECT session_id, cp_id FROM tickets").fetchall():
                history.record("db_ticket", session=session, resource=cp)
        finally:
            connection.close()
    except sqlite3.Error as exc:
        history.note("could not read Central's database", error=str(exc))
