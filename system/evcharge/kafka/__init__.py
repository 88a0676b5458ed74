"""The one resilient Kafka client every component uses: lazy, re-created with bounded backoff, queued.

Why it exists: the seed's Driver created its producer once at start and never again, so a Driver
started before Kafka could not send for the rest of its life (``docs/bug-story.md``). Every client
here is instead created when first needed and re-created after any failure, and nothing a component
sends ever waits for Kafka or is lost because Kafka was away.

- ``settings``: what we pass to kafka-python and why (short timeouts, static membership), and the
  ``Backoff`` between our own reconnect attempts.
- ``producer``: ``ResilientProducer``, an ordered in-memory send queue drained by one sender thread;
  records that can never be sent fail instead of blocking the ones behind them.
- ``sendqueue``: ``PendingSend`` (one queued record) and the queue's bound: droppable records
  (heartbeats, telemetry, ticks) make room, the others are never dropped.
- ``failures``: which send errors are the record's own (give up) and which are Kafka's (retry).
- ``consumer``: ``ResilientConsumer``, whose ``poll`` returns [] instead of raising while Kafka is away.

Import from ``evcharge.kafka``; the submodules are a layout, not an API.
"""

from evcharge.kafka.consumer import ConsumerFactory, ResilientConsumer, new_consumer
from evcharge.kafka.producer import ProducerFactory, ResilientProducer
from evcharge.kafka.sendqueue import DROPPABLE_TYPES, DROPPED, PendingSend
from evcharge.kafka.settings import (
    DELIVERY_TIMEOUT_MS,
    MAX_REQUEST_SIZE,
    METADATA_MAX_AGE_MS,
    RECONNECT_BACKOFF_MS,
    REQUEST_TIMEOUT_MS,
    Backoff,
    common_config,
    consumer_config,
    producer_config,
    record_fits,
    static_member_id,
)

__all__ = [
    "DELIVERY_TIMEOUT_MS",
    "DROPPABLE_TYPES",
    "DROPPED",
    "MAX_REQUEST_SIZE",
    "METADATA_MAX_AGE_MS",
    "RECONNECT_BACKOFF_MS",
    "REQUEST_TIMEOUT_MS",
    "Backoff",
    "ConsumerFactory",
    "PendingSend",
    "ProducerFactory",
    "ResilientConsumer",
    "ResilientProducer",
    "common_config",
    "consumer_config",
    "new_consumer",
    "producer_config",
    "record_fits",
    "static_member_id",
]
