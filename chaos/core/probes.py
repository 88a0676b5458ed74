"""How the harness reads a system's resource states while it runs: a probe, built from the spec.

The built-in probe is an SQL query on the system's own SQLite file, read-only; a spec may give any
factory instead. The sampler (``chaos.core.sampler``) calls the probe and records what changed.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from chaos.core.sampler import StateProbe
from chaos.core.templates import SpecError, format_placeholders


class SqliteStateProbe:
    """Reads ``(resource, state)`` rows with an SQL query on a SQLite file, read-only, per call.

    Opening per call keeps no lock or snapshot between samples, and read-only mode means a probe can
    never change what it observes. The system may not have created its database yet, or may hold a
    write lock: a missing file reads as "no resources yet" and a locked or half-created one as
    "cannot tell this time" (None), which the sampler skips.
    """

    def __init__(self, path: Path | str, query: str, timeout: float = 0.5) -> None:
        self.path, self.query, self.timeout = Path(path), query, timeout

    def __call__(self) -> dict[str, str] | None:
        if not self.path.exists():
            return {}
        try:
            db = read_only(self.path, self.timeout)
        except sqlite3.Error:
            return None
        try:
            rows = db.execute(self.query).fetchall()
        except sqlite3.Error:
            return None
        finally:
            with contextlib.suppress(sqlite3.Error):
                db.close()
        return {str(row[0]): str(row[1]) for row in rows}


def read_only(path: Path | str, timeout: float = 2.0) -> sqlite3.Connection:
    """A connection to a system's SQLite file that can never write to it (``mode=ro``): the harness
    must not be able to change what it judges, even while the system still runs."""
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)


@dataclass(frozen=True)
class ProbeSpec:
    """How to read resource states: an SQL ``query`` on the SQLite file ``db`` (a template, by
    default ``{db}``), or a ``factory`` that builds any probe from the placeholder values."""

    query: str | None = None
    db: str = "{db}"
    factory: Callable[[Mapping[str, str]], StateProbe] | None = None
    timeout: float = 0.5

    def __post_init__(self) -> None:
        if (self.query is None) == (self.factory is None):
            raise SpecError("a probe needs exactly one of 'query' (SQL on the db file) or 'factory'")

    def build(self, values: Mapping[str, str]) -> StateProbe:
        if self.factory is not None:
            return self.factory(values)
        return SqliteStateProbe(
            format_placeholders(self.db, values, "probe db"), self.query or "", self.timeout
        )
