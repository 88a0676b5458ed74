"""The ORIGINAL, BUGGY driver behaviour, kept on purpose: ``evcharge driver --variant seed``.

Do not use it to charge cars. It exists so the harness can prove it catches the bug described in
``docs/bug-story.md``: the seed created its ``KafkaProducer`` once at start; if Kafka was not ready
then, the producer stayed ``None`` for ever, and the reaction to an authorization
(``if self.producer: send charging_started``) silently did nothing. Central had reserved the CP, so
the CP stayed ``reserved`` (until our TTL sweeper, which the seed did not have).

Only that one path differs from the fixed driver. The request itself still goes out through the
resilient send queue, as in the seed's "producer initialised by luck" path of the report, because
otherwise the bug would be hidden behind an earlier "messaging unavailable" error and no CP would
ever be reserved — the harness needs to see the reserved-forever symptom.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from evcharge.config import KafkaSettings
from evcharge.driver.core import Driver, DriverConfig
from evcharge.kafka import producer_config
from evcharge.messages import ChargingStarted, Topics, encode, make

log = logging.getLogger("evcharge.driver.seed")


class SeedDriver(Driver):
    variant = "seed"

    def __init__(self, config: DriverConfig, kafka: KafkaSettings, **kwargs: Any) -> None:
        # the seed had no start deadline either: its request never gave up its reservation
        super().__init__(dataclasses.replace(config, start_deadline=math.inf), kafka, **kwargs)
        self.seed_producer: Any = None
        try:  # once, at start, never again: the bug
            self.seed_producer = KafkaProducer(**producer_config(kafka, f"{self.source}-seed"))
        except (KafkaError, OSError) as exc:
            log.error("seed producer could not be created and will never be retried: %s", exc)

    def send_charging_started(self, body: ChargingStarted, request_id: str) -> None:
        if self.seed_producer is None:
            log.error("seed bug: producer is None, charging_started NOT sent; the CP stays reserved")
            return
        message = make(body, self.source, correlation_id=request_id)
        self.seed_producer.send(
            self.kafka.topic(Topics.DRIVER_REQUESTS),
            key=self.config.driver_id.encode(),
            value=self.auth.seal(encode(message)),
        )
