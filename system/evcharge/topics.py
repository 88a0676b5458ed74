"""Create the topics a consumer reads before it subscribes.

Relying on the broker's auto-creation left a gap the chaos suite found twice (a CP engine after a
link cut, a driver during a leader kill): a consumer that subscribes before anyone has written to
its topic gets no partitions, and only gets them after a metadata refresh *and* a group rebalance,
which a fault in between can delay for as long as the fault lasts. Creating the topics first means
the consumer's first join already assigns them. Partition count and replication are the broker's
defaults (-1), so the same code fits a one-broker laptop and a three-node cluster.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError

log = logging.getLogger("evcharge.kafka")
METADATA_WAIT_S = 10.0


def ensure_topics(admin_config: dict[str, Any], topics: Iterable[str]) -> None:
    """Create whichever of ``topics`` does not exist yet; raises KafkaError/OSError if Kafka is away.

    ``admin_config``: an admin client's settings (``evcharge.kafka.settings.admin_config``)."""
    wanted = sorted(set(topics))
    admin = KafkaAdminClient(**admin_config)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return
        try:
            admin.create_topics([NewTopic(t, -1, -1) for t in missing])
            log.info("kafka topics created", extra={"topics": missing})
        except TopicAlreadyExistsError:
            pass  # another component created them first
        # Creation returns before brokers serve the topic's metadata. A consumer that joins its group
        # before that gets no partitions, and as a static group member it is not rebalanced when they
        # appear (its subscription did not change): wait until metadata shows every topic.
        _wait_metadata(lambda: set(wanted) <= set(admin.list_topics()), f"topics {missing} created but not in metadata")
    finally:
        admin.close()


def wait_for_partitions(consumer: Any, topics: Iterable[str]) -> None:
    """Block until ``consumer``'s own metadata lists partitions for every topic (bounded).

    The group leader assigns partitions from its own metadata at the first join; if that metadata
    does not know a topic yet, the topic gets no owner, and a static group member is never
    rebalanced afterwards (its subscription did not change). Seen in CI: a Central that joined
    10 ms after creating its topics consumed nothing, ever. So the first poll waits for metadata.
    """
    wanted = list(topics)
    cluster = consumer._cluster  # the cache the assignor reads; kafka-python has no public accessor
    # Poll the cache and ask the client's I/O thread for fresh metadata: unlike
    # ``partitions_for_topic``, this never blocks without a deadline if the link drops meanwhile.
    _wait_metadata(
        lambda: all(cluster.partitions_for_topic(topic) for topic in wanted),
        f"no partition metadata for {wanted}",
        between=cluster.request_update,
    )


def _wait_metadata(ready: Callable[[], bool], what: str, between: Callable[[], object] | None = None) -> None:
    """Poll ``ready`` every 50 ms (calling ``between`` after each miss) for at most ``METADATA_WAIT_S``."""
    deadline = time.monotonic() + METADATA_WAIT_S
    while not ready():
        if time.monotonic() > deadline:
            raise KafkaTimeoutError(f"{what} after {METADATA_WAIT_S} s")
        if between is not None:
            between()
        time.sleep(0.05)
