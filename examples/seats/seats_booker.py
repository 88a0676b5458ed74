"""The booker: reads seat requests from Kafka, decides them in its store, answers on the replies topic.

A request is decided in the store (its effect and its answer in one transaction) before its offset
is committed: a crash or a lost commit only means reading it again, and the store answers a repeat
as it did the first time. Holds expire on a timer of the booker's own, whatever Kafka does: a hold
whose client never heard back (the api gave up waiting, the answer was lost) or never came back to
confirm frees its seat after ``--ttl`` s. ``--ttl off`` keeps holds for good: the deliberately
broken variant.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import threading
import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from seats_kafka import MESSAGE_TIMEOUT_MS, Bus, log
from seats_store import Store

SWEEP_EVERY = 0.2
"""Seconds between two expiry sweeps: a hold lasts at most its TTL and this."""


def sweep(path: str, ttl: float) -> None:
    """Expire holds, on a thread and a connection of its own, so that no Kafka call can delay it; a
    failure ends the process (a booker that no longer expires holds must not look alive)."""
    try:
        store = Store(path, ttl)
        while True:
            time.sleep(SWEEP_EVERY)
            if expired := store.expire(time.time()):
                log(f"expired {expired} hold(s)")
    except Exception as exc:
        log(f"the expiry sweeper failed: {exc!r}")
        os._exit(1)


def serve(bus: Bus, store: Store) -> None:
    """Read, decide, answer, commit, for good."""
    # a static member: back after an outage (or a restart) it takes its partitions over at once instead
    # of waiting out its old self's session in a rebalance (there is one booker per group)
    consumer = bus.consumer(**{"auto.offset.reset": "earliest", "group.instance.id": bus.group})
    producer = bus.producer()

    def ready(_: Consumer, partitions: list[TopicPartition]) -> None:
        log(f"booker ready: assigned {', '.join(f'{p.topic}[{p.partition}]' for p in partitions)}")

    def lost(error: KafkaError | None, _: Message) -> None:
        if error is not None:  # its client has stopped waiting by now: said, not retried
            log(f"an answer was not delivered within {MESSAGE_TIMEOUT_MS} ms: {error.str()}")

    consumer.subscribe([bus.requests], on_assign=ready)
    while True:
        producer.poll(0)
        message = consumer.poll(0.2)
        if message is None or message.error():
            continue
        reply = decide(store, message)
        if reply is not None:
            producer.produce(bus.replies, json.dumps(reply).encode(), on_delivery=lost)
        consumer.commit(message=message, asynchronous=True)  # after the store has it


def decide(store: Store, message: Message) -> dict[str, Any] | None:
    """The answer to one request; None for one without an id, which nobody could match an answer to."""
    try:
        request = json.loads(message.value())
        status, body = store.answer(request, time.time())
    except (ValueError, KeyError, TypeError) as exc:
        log(f"skipped an unreadable request at offset {message.offset()}: {exc!r}")
        return None
    return {"id": request["id"], "status": status, "body": body}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="the SQLite store (created if missing)")
    parser.add_argument("--ttl", type=lambda text: math.inf if text == "off" else float(text), default=5.0,
                        help="seconds a hold lasts unless confirmed; off: for good (the broken variant)")
    args = parser.parse_args()
    store = Store(args.db, args.ttl)
    if math.isfinite(args.ttl):
        threading.Thread(target=sweep, args=(args.db, args.ttl), name="sweeper", daemon=True).start()
    bus = Bus()
    bus.ensure_topics()
    serve(bus, store)


if __name__ == "__main__":
    main()
