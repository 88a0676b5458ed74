"""What every client here passes to kafka-python, and the backoff between our own reconnect attempts.

kafka-python's defaults suit long-lived servers, not fast recovery, so:
``bootstrap_timeout_ms`` = our ``bootstrap_timeout`` (3 s, not 30 s) so one attempt never blinds a
component for long; ``reconnect_backoff_max_ms`` = our ``reconnect_backoff_max`` (0.25 s, not 30 s)
so a healed link is noticed at once; ``delivery_timeout_ms`` = 10 s and ``max_block_ms`` = the
bootstrap timeout, so a dead link surfaces as a failed future we can retry rather than a long block.
``max_request_size`` is kafka-python's own default (1 MiB), stated here because Central checks its
replies against it before storing them (``record_fits``): a record above it can never be sent.
acks=all and idempotence stay on (why the producer is still re-created after any failure: see
``evcharge.kafka.producer``).

Consumers use static group membership (``group_instance_id`` = the group id): every group here has
exactly one member (Central, one engine, one driver), so when a member is re-created or restarted,
the broker hands it its partitions at once instead of waiting for the old member's session timeout
(10 s). The price: two live processes with the same id fence each other, which is a deployment error
(two Centrals, two engines for one CP) and is logged as such by ``ResilientConsumer``.

The config builders are public because the seed driver and the raw benchmark build bare kafka-python
clients and must use the very same settings to be a fair comparison.
"""

from __future__ import annotations

import random
import re
from typing import Any

from evcharge.config import KafkaSettings

RECONNECT_BACKOFF_MS = 50
DELIVERY_TIMEOUT_MS = 10_000
REQUEST_TIMEOUT_MS = 5_000
METADATA_MAX_AGE_MS = 2_000
MAX_REQUEST_SIZE = 1_048_576
"""kafka-python's default ``max_request_size``: a record whose batch would exceed it is refused by
``KafkaProducer.send`` (``MessageSizeTooLargeError``) and can never be sent."""
RECORD_OVERHEAD = 128
"""Bytes a record costs beyond its key and value in a v2 batch of its own: kafka-python estimates
61 (batch header) + 21 (record header) + the length varints (at most 5 each); 128 leaves a margin."""


def record_fits(key: bytes | None, value: bytes, max_request_size: int = MAX_REQUEST_SIZE) -> bool:
    """Whether a record of this key and value can be sent at all under ``max_request_size``."""
    return len(key or b"") + len(value) + RECORD_OVERHEAD <= max_request_size


class Backoff:
    """Exponential delay between ``minimum`` and ``maximum`` seconds, with +-20 % jitter.

    The jitter keeps the components of a network that lost Kafka together from all knocking again at
    the same instant when it returns.
    """

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.attempts = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.minimum * (2**self.attempts))
        self.attempts += 1
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.attempts = 0


def common_config(settings: KafkaSettings, client_id: str) -> dict[str, Any]:
    """The settings producers and consumers share: short timeouts so an absent Kafka costs seconds."""
    backoff_max_ms = max(1, int(settings.reconnect_backoff_max * 1000))
    return {
        "bootstrap_servers": settings.bootstrap.split(","),
        "client_id": client_id,
        "bootstrap_timeout_ms": int(settings.bootstrap_timeout * 1000),
        "reconnect_backoff_ms": min(RECONNECT_BACKOFF_MS, backoff_max_ms),
        "reconnect_backoff_max_ms": backoff_max_ms,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
        # Topics are created on first use by whoever writes first; a consumer that subscribed before
        # that sees no partitions until its next metadata refresh (5 min by default). The chaos suite
        # caught an engine that missed its start_supply this way after a link cut: refresh often.
        "metadata_max_age_ms": METADATA_MAX_AGE_MS,
        **sasl_config(settings),
    }


def sasl_config(settings: KafkaSettings) -> dict[str, Any]:
    """SASL over the plain listener when the component has a principal; nothing otherwise."""
    if not settings.sasl_username:
        return {}
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": settings.sasl_mechanism,
        "sasl_plain_username": settings.sasl_username,
        "sasl_plain_password": settings.sasl_password,
    }


ADMIN_KEYS = ("bootstrap_servers", "client_id", "bootstrap_timeout_ms", "reconnect_backoff_ms",
              "reconnect_backoff_max_ms", "request_timeout_ms", "security_protocol", "sasl_mechanism",
              "sasl_plain_username", "sasl_plain_password")


def admin_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a consumer's or producer's config an admin client takes (it rejects the rest)."""
    return {key: config[key] for key in ADMIN_KEYS if key in config}


def static_member_id(group_id: str) -> str:
    """The ``group_instance_id`` of a group's only member: the group id in the characters Kafka allows."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", group_id)[:249]


def producer_config(
    settings: KafkaSettings, client_id: str, max_request_size: int = MAX_REQUEST_SIZE
) -> dict[str, Any]:
    """Durable (acks=all) but never blocking for long, so a dead link becomes a failed future."""
    return {
        **common_config(settings, client_id),
        "acks": "all",
        "max_request_size": max_request_size,
        "linger_ms": 1,
        "delivery_timeout_ms": DELIVERY_TIMEOUT_MS,
        "max_block_ms": int(settings.bootstrap_timeout * 1000),
    }


def consumer_config(settings: KafkaSettings, group_id: str, client_id: str, auto_offset_reset: str) -> dict[str, Any]:
    """Manual commits (the owner commits after its own work) and a static member id (see above)."""
    return {
        **common_config(settings, client_id),
        "group_id": group_id,
        "group_instance_id": static_member_id(group_id),
        "enable_auto_commit": False,
        "auto_offset_reset": auto_offset_reset,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 1_000,
        # A fetch returns as soon as a record arrives, so this bounds only how often an idle consumer
        # asks again: 50 ms cost every idle service and the broker twice the CPU for no latency gain
        # (measured on a scenario's 7 processes at rest: 15% of a core -> 7.6%, broker 11.6% -> 8.6%).
        "fetch_max_wait_ms": 500,
    }
