"""kafka-python clients tuned for fault testing: fail fast, reconnect fast.

Idempotence is off on purpose. With kafka-python 3.0.12 an idempotent producer whose in-flight batch
expires (a paused broker, a stalled link) never sends again: every later send times out, while a
non-idempotent producer recovers within milliseconds of the heal (seen here with SIGSTOP/SIGCONT,
``tests/infra/test_broker_faults.py``). Delivery stays at least once; consumers dedup.

kafka-python's defaults suit a steady cluster: a 30 s bootstrap timeout, reconnect backoff growing to
30 s, 30 s request timeouts. Under injected faults those defaults turn a 2 s outage into a 30 s stall
and hide recovery time, so the harness's own clients (probes, the toy system, tests) use these.
"""

from __future__ import annotations

import time
from typing import Any

import kafka
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from chaos.infra import records

FAST = {**records.FAST, "metadata_max_age_ms": 5000}
"""The harness's fail-fast settings (``chaos.infra.records``), plus fresh metadata for fault tests."""
if kafka.__version__.startswith("2."):  # the toy also runs on a 2.x pin (tox -e kafka2), which lacks it
    FAST.pop("bootstrap_timeout_ms")


def producer(bootstrap: str, **overrides: Any) -> KafkaProducer:
    settings: dict[str, Any] = {
        **FAST,
        "acks": "all",
        "linger_ms": 0,
        "delivery_timeout_ms": 30000,
        "enable_idempotence": False,
    }
    return KafkaProducer(bootstrap_servers=bootstrap, **{**settings, **overrides})


def consumer(bootstrap: str, *topics: str, group: str | None = None, **overrides: Any) -> KafkaConsumer:
    settings: dict[str, Any] = {
        **FAST,
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 1000,
        "fetch_max_wait_ms": 100,
    }
    return KafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group, **{**settings, **overrides})


def create_topic(
    bootstrap: str, name: str, partitions: int = 1, replication: int = 1, configs: dict[str, str] | None = None
) -> None:
    """Create a topic (a no-op if it exists): for replication settings auto-creation cannot give."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **FAST)
    try:
        admin.create_topics([NewTopic(name, partitions, replication, topic_configs=configs or {})])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def send_until_acked(producer: KafkaProducer, topic: str, value: bytes, within: float, attempt: float = 5.0) -> None:
    """Send ``value`` again and again until one send is acknowledged, for at most ``within`` seconds.

    After a heal a client reconnects on its own schedule; this is how a test waits for that, on the
    real outcome (an acknowledged write) rather than a sleep. Raises TimeoutError with the last error.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            producer.send(topic, value).get(timeout=attempt)
            return
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no send to {topic} acknowledged within {within:g} s (last: {exc!r})") from exc
