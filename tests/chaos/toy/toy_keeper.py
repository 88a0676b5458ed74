"""The toy's consumer: keeps each resource's state (free / reserved) in a SQLite file, the system's probe.

``reserve`` and ``hb`` mark a resource reserved, ``release`` frees it. With ``--lease S`` a
reservation with no message for S seconds is freed (the fix); with ``--lease 0`` it is kept until a
release that may never come (the deliberately broken variant, stuck after a lost release).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time

from kafka import TopicPartition

from tests import kafka_clients as clients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--lease", type=float, default=1.0)
    args = parser.parse_args()
    db = sqlite3.connect(args.db)
    db.execute("CREATE TABLE IF NOT EXISTS resources (id TEXT PRIMARY KEY, state TEXT, seen REAL)")
    db.commit()
    consumer = clients.consumer(args.bootstrap, reconnect_backoff_max_ms=200)
    consumer.assign([TopicPartition(args.topic, 0)])
    consumer.poll(timeout_ms=100)
    print("keeper ready", flush=True)
    while True:
        for records in consumer.poll(timeout_ms=100).values():
            for record in records:
                apply(db, json.loads(record.value))
        if args.lease > 0:
            db.execute(
                "UPDATE resources SET state = 'free' WHERE state = 'reserved' AND seen < ?",
                (time.time() - args.lease,),
            )
        db.commit()


def apply(db: sqlite3.Connection, message: dict[str, str]) -> None:
    state = {"reserve": "reserved", "hb": "reserved", "release": "free"}.get(message.get("op", ""))
    if state is not None:
        db.execute(
            "INSERT INTO resources VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = ?, seen = ?",
            (message["resource"], state, time.time(), state, time.time()),
        )


if __name__ == "__main__":
    main()
