"""What the api and the booker share about Kafka: where it is, who they are, the topics, the tuning.

Both read the environment (``SEATS_BOOTSTRAP``, ``SEATS_TOPIC_PREFIX``, ``SEATS_GROUP``,
``SEATS_KAFKA_USER``, ``SEATS_KAFKA_PASSWORD``), so no password shows in a process list.
librdkafka's defaults suit a steady cluster (a minute of socket timeout, reconnects backing off to
10 s); here a request to a dead broker fails within seconds and a returning one is found within
half a second, because a client that waits a minute for Kafka answers nobody meanwhile.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

T = TypeVar("T")
FAST = {"socket.timeout.ms": 3000, "socket.connection.setup.timeout.ms": 3000, "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 500, "retry.backoff.ms": 100, "retry.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 5000}
MESSAGE_TIMEOUT_MS = 2500
"""A message Kafka has not taken by then is given up: the api answers its client within 3 s."""


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)  # stdout: the service's log


def on_error(error: KafkaError) -> None:
    """librdkafka logs its troubles and retries by itself; a fatal error ends the process, so that a
    dead client shows as a dead service, not as a live one that answers nothing."""
    if error.fatal():
        log(f"kafka: fatal: {error.str()}")
        os._exit(1)


def required(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set: give {what}")
    return value


class Bus:
    """This process's Kafka: its clients (SASL/SCRAM when a user is given) and the two topics."""

    def __init__(self) -> None:
        self.bootstrap = required("SEATS_BOOTSTRAP", "Kafka's bootstrap servers (host:port,...)")
        self.group = required("SEATS_GROUP", "this process's consumer group")
        prefix = os.environ.get("SEATS_TOPIC_PREFIX", "seats.")
        self.requests, self.replies = f"{prefix}requests", f"{prefix}replies"
        self.user, self.password = os.environ.get("SEATS_KAFKA_USER", ""), os.environ.get("SEATS_KAFKA_PASSWORD", "")

    def settings(self, **extra: Any) -> dict[str, Any]:
        settings = {"bootstrap.servers": self.bootstrap, "error_cb": on_error, **FAST, **extra}
        if self.user:
            settings.update({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
                             "sasl.username": self.user, "sasl.password": self.password})
        return settings

    def producer(self) -> Producer:
        return Producer(self.settings(**{"message.timeout.ms": MESSAGE_TIMEOUT_MS, "linger.ms": 1}))

    def consumer(self, **extra: Any) -> Consumer:
        return Consumer(self.settings(**{"group.id": self.group, "enable.auto.commit": False,
                                         "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000, **extra}))

    def ensure_topics(self) -> None:
        """Create both topics unless they exist (whoever starts first does), waiting for Kafka as long as
        it takes: a process started before Kafka must not give up before Kafka arrives."""
        admin = AdminClient(self.settings())

        def create() -> None:
            for future in admin.create_topics([NewTopic(t, 1) for t in (self.requests, self.replies)]).values():
                try:
                    future.result()
                except KafkaException as exc:
                    if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                        raise

        retrying("create the topics", create)


def retrying(what: str, call: Callable[[], T]) -> T:
    """``call()`` until it succeeds, saying each failure: for what a process cannot start without."""
    while True:
        try:
            return call()
        except KafkaException as exc:
            log(f"could not {what} yet ({exc.args[0].str()}); trying again")
            time.sleep(0.5)
