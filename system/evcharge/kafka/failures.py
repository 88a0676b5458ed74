"""Why a send failed, sorted into what it means for the record: give up now, retry, or retry a little.

A record that can never be sent must not stay at the head of the in-order send queue, or every
record behind it waits for ever. But most failures are Kafka's, not the record's (a broker away, a
leader moving, a stale idempotent producer), and those must be retried for as long as it takes, or an
outage would lose completions and tickets. So:

- ``PERMANENT``: the broker (or kafka-python, before sending) refuses *this record* and always will:
  too large, an invalid record or topic, a topic we may not write. The record fails at once.
- ``TRANSIENT``: Kafka or our producer is not ready: every error kafka-python marks retriable, no
  answer in time, OS-level errors, a broker not available, and the idempotent producer's state errors
  (a fresh producer clears them, which is what ``ResilientProducer`` makes after any failed future).
  Retried for ever, with backoff, as always.
- anything else (``SUSPECT``: a non-retriable broker error we cannot place, a ``TypeError`` or
  ``ValueError`` kafka-python raises for this record): retried with a fresh producer up to
  ``MAX_ATTEMPTS`` times in a row on the same head record, then the record fails.
"""

from __future__ import annotations

import enum

from kafka import errors

MAX_ATTEMPTS = 5
"""Attempts, each with a fresh producer and a backoff, before a record failing with an error we cannot
place is given up (about 3 s with the default backoff)."""

PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    errors.MessageSizeTooLargeError,  # MESSAGE_TOO_LARGE, or max_request_size before sending
    errors.RecordListTooLargeError,
    errors.InvalidRecordError,  # INVALID_RECORD
    errors.InvalidTopicError,
    errors.InvalidTimestampError,
    errors.TopicAuthorizationFailedError,
)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    errors.BrokerNotAvailableError,
    errors.UnknownError,
    errors.IllegalStateError,  # e.g. "KafkaProducer already closed!"
    errors.OutOfOrderSequenceNumberError,
    errors.DuplicateSequenceNumberError,
    errors.InvalidProducerEpochError,
    errors.InvalidProducerIdMappingError,
    errors.UnknownProducerIdError,
    errors.ProducerFencedError,
    errors.ClusterAuthorizationFailedError,  # every record alike: not this record's fault
)


class Kind(enum.Enum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    SUSPECT = "suspect"


def classify(error: BaseException | None) -> Kind:
    """The kind of a failure; ``None`` (no answer in time) is transient."""
    if error is None:
        return Kind.TRANSIENT
    if isinstance(error, PERMANENT_ERRORS):
        return Kind.PERMANENT
    if (
        isinstance(error, TRANSIENT_ERRORS)
        or getattr(error, "retriable", False)
        or type(error) is errors.KafkaError  # kafka-python's generic ones ("producer closed forcefully")
    ):
        return Kind.TRANSIENT
    return Kind.SUSPECT


def describe(error: BaseException | None) -> str:
    """A one-line reason for logs and dead letters."""
    if error is None:
        return "not acknowledged in time"
    return f"{type(error).__name__}: {error}"[:300]
