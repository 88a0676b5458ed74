"""Each engine's own meter, read from its state file and placed in the history.

The conservation rule compares what was metered with what was billed. What reached Kafka is not
enough as the meter: an engine killed with its telemetry and completion still in its send queue
took the energy it had supplied out of every topic, and a bill of 0 kWh then "matched" it. The
engine keeps each reading in its state file (``evcharge.cp.supplied``), so once at the end every
session it supplied becomes a ``metered`` event with its last reading, tagged ``source: <service>
meter``: a bill must match what the car got, whether or not the engine managed to say so.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chaos.core.history import History
from chaos.core.probes import read_only


def state_file(cp_id: str) -> str:
    """An engine's ``--state`` file, as a template (``{workdir}`` is the scenario's folder)."""
    return "{workdir}/" + f"cp-{cp_id}.state"


def record_meters(history: History, states: dict[str, Path]) -> None:
    """Record every supplied session's last reading from each CP's state file (``cp_id -> path``).

    Read-only, like Central's database. A file that does not exist is an engine that never
    accepted a start (nothing to record); one that cannot be read is a note, as for Central."""
    for cp_id, path in sorted(states.items()):
        if not path.exists():
            continue
        try:
            connection = read_only(path)
            try:
                rows = connection.execute("SELECT session_id, kwh FROM supplied").fetchall()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            history.note(f"could not read the meter of {cp_id}", error=str(exc), path=str(path))
            continue
        now = history.clock.now()  # the meter's reading as it stands at the end, after every other
        for session, kwh in rows:  # reading of the run (a meter only counts up)
            history.record("metered", t=now, session=session, resource=cp_id, quantity=kwh,
                           source=f"cp-{cp_id} meter")
