"""The raw baseline: a bare kafka-python process that echoes every request to the reply topic.

    python -m benchmarks.echo BOOTSTRAP REQUEST_TOPIC REPLY_TOPIC

Why an echo and not a one-hop produce->consume: Central's request->authorization path is two hops
(driver -> broker -> Central -> broker -> driver) with a separate process in the middle. The echo
has exactly that shape and loop (poll a batch, send it, wait for the acks, commit asynchronously)
with the same kafka-python settings as Central's clients (``evcharge.kafka``), and nothing
else: no decoding, no SQLite, no outbox table. So "Central latency / raw latency" is the cost of
Central's own code, not of Kafka.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kafka import KafkaConsumer, KafkaProducer

from evcharge.config import KafkaSettings
from evcharge.kafka import common_config, producer_config


def consumer_config(settings: KafkaSettings) -> dict[str, object]:
    """What ``ResilientConsumer`` passes to kafka-python (see system/evcharge/kafka/settings.py), minus nothing."""
    return {
        **common_config(settings, "bench-echo"),
        "group_id": settings.group("echo"),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
        "fetch_max_wait_ms": 500,
    }


def main(argv: list[str] | None = None) -> int:
    bootstrap, request_topic, reply_topic = argv if argv is not None else sys.argv[1:]
    settings = KafkaSettings(bootstrap=bootstrap, topic_prefix="bench-echo.")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    consumer = KafkaConsumer(request_topic, **consumer_config(settings))
    producer = KafkaProducer(**producer_config(settings, "bench-echo"))
    try:
        while not stopping.is_set():
            batches = consumer.poll(timeout_ms=100, max_records=2000)
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            futures = [producer.send(reply_topic, key=r.key, value=r.value) for r in records]
            producer.flush()
            for future in futures:
                future.get(timeout=10)  # like Central: acknowledged before the offsets move
            consumer.commit_async()
    finally:
        consumer.close(autocommit=False)
        producer.close(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
