"""What each EV component may do on a secured cluster: its topics and its consumer group, no more.

The table is the network's data flow (``evcharge.messages.Topics``): a driver writes requests and
reads its own events topic (and no other driver's), an engine reads commands and writes its events,
a monitor only writes heartbeats, Central reads every input and writes every answer, and every
consumer may write the dead letters of what it rejected. Each may create the topics it touches
(whoever comes first creates them). With these grants and nothing else, an engine cannot send a
driver an answer, a driver cannot command an engine, and nobody but Central speaks for Central.
"""

from __future__ import annotations

from collections.abc import Iterable

from chaos.infra.principals import Grant
from evcharge.messages import Topics

FLOWS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # Central also writes its own clock ticks into monitor-events, to learn how far it has heard
    "central": (Topics.CENTRAL_INPUTS, (Topics.CP_COMMANDS, Topics.COMMAND_RESULTS, Topics.DEAD_LETTER,
                                        Topics.MONITOR_EVENTS)),
    "cp": ((Topics.CP_COMMANDS,), (Topics.CP_EVENTS, Topics.DEAD_LETTER)),
    "monitor": ((), (Topics.MONITOR_EVENTS,)),
    "driver": ((), (Topics.DRIVER_REQUESTS, Topics.DEAD_LETTER)),  # and its own events topic: grants_for
}
"""Role -> (topics it reads, topics it writes)."""


def topic_grants(operation: str, topics: Iterable[str]) -> list[Grant]:
    return [grant for topic in topics for grant in (Grant(operation, "topic", "{topic_prefix}" + topic),
                                                    Grant("create", "topic", "{topic_prefix}" + topic))]


def grants_for(role: str, ident: str = "") -> tuple[Grant, ...]:
    """A component's grants; its consumer group is named after its service (``{service}``).

    Each driver reads its own events topic only (``ident``: the driver's id); Central writes (and
    may create) every driver's, by prefix."""
    reads, writes = FLOWS[role]
    if role == "driver":
        reads = (Topics.driver_events(ident),)
    group = [Grant("read", "group", "{topic_prefix}{service}")] if reads else []
    own: list[Grant] = []
    if role == "central":
        family = "{topic_prefix}" + Topics.DRIVER_EVENTS + "."
        own = [Grant("write", "topic", family, prefixed=True), Grant("create", "topic", family, prefixed=True)]
    return (*topic_grants("read", reads), *topic_grants("write", writes), *own, *group)
