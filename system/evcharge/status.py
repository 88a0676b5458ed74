"""``evcharge status``: the CP table straight from Central's database (read-only, WAL lets it run
while Central writes)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path


def read_table(db: Path) -> list[dict[str, object]]:
    """The CP rows with their active reservation or session, if any."""
    if not db.exists():
        raise FileNotFoundError(f"no database at {db} (has Central run with --db {db}?)")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            """SELECT c.cp_id, c.state, c.engine_ok, c.last_heartbeat,
                      (SELECT driver_id FROM reservations r WHERE r.cp_id=c.cp_id AND r.status='active'),
                      (SELECT driver_id || ' ' || printf('%.3f', kwh) FROM sessions s
                        WHERE s.cp_id=c.cp_id AND s.status='active')
               FROM cps c ORDER BY c.cp_id"""
        ).fetchall()
    finally:
        conn.close()
    return [
        {
            "cp_id": r[0],
            "state": r[1],
            "engine_ok": bool(r[2]),
            "heard_s_ago": round(time.time() - r[3], 1),
            "reserved_by": r[4],
            "charging": r[5],
        }
        for r in rows
    ]


def render(rows: list[dict[str, object]], as_json: bool) -> str:
    if as_json:
        return json.dumps(rows, indent=2)
    if not rows:
        return "no charging points registered yet"
    header = f"{'CP':<12} {'STATE':<13} {'ENGINE':<7} {'HEARD':>7}  DETAIL"
    lines = [header, "-" * len(header)]
    for r in rows:
        detail = f"reserved by {r['reserved_by']}" if r["reserved_by"] else ""
        if r["charging"]:
            driver, kwh = str(r["charging"]).split()
            detail = f"charging {driver}, {kwh} kWh"
        engine = "ok" if r["engine_ok"] else "KO"
        lines.append(f"{r['cp_id']:<12} {r['state']:<13} {engine:<7} {r['heard_s_ago']:>6}s  {detail}")
    return "\n".join(lines)
