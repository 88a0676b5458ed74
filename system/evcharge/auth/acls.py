"""What each component may do on a secured Kafka cluster: its topics and its consumer group, no more.

The table is the network's data flow (``evcharge.messages.Topics``): a driver writes requests and
reads its own events topic (and no other driver's), an engine reads commands and writes its events,
a monitor only writes heartbeats, Central reads every input and writes every answer, and every
consumer may write the dead letters of what it rejected. Each may create the topics it touches
(whoever comes first creates them). With these ACLs and nothing else, an engine cannot send a
driver an answer, a driver cannot command an engine, and nobody but Central speaks for Central.

Data only: ``evcharge provision kafka`` applies it to a deployment's cluster, and the resilience
harness gives the same table to the principals it makes per scenario (``scenarios/ev/grants.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from evcharge.messages import Topics

FLOWS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # Central also writes its own clock ticks into monitor-events, to learn how far it has heard
    "central": (Topics.CENTRAL_INPUTS, (Topics.CP_COMMANDS, Topics.COMMAND_RESULTS, Topics.DEAD_LETTER,
                                        Topics.MONITOR_EVENTS)),
    "cp": ((Topics.CP_COMMANDS,), (Topics.CP_EVENTS, Topics.DEAD_LETTER)),
    "monitor": ((), (Topics.MONITOR_EVENTS,)),
    "driver": ((), (Topics.DRIVER_REQUESTS, Topics.DEAD_LETTER)),  # and its own events topic: role_acls
}
"""Role -> (topics it reads, topics it writes)."""


@dataclass(frozen=True)
class Acl:
    """One permission: ``operation`` on the resource ``name`` (every name starting with it when
    ``prefixed``), as Kafka's ACLs say it: ``resource`` is ``topic`` or ``group``."""

    operation: str
    resource: str
    name: str
    prefixed: bool = False


def group_of(role: str, ident: str = "") -> str | None:
    """The consumer group a component reads in (before the topic prefix); None: it reads nothing."""
    return {"central": "central", "cp": f"cp-{ident}", "driver": f"driver-{ident}"}.get(role)


def principal_of(role: str, ident: str = "") -> str:
    """A component's Kafka user in a deployment: ``central``, ``cp-CP_001``, ``monitor-CP_001``, ``driver-D1``."""
    return role if role == "central" else f"{role}-{ident}"


def _topics(operation: str, topics: Iterable[str], prefix: str) -> list[Acl]:
    return [acl for topic in topics for acl in (Acl(operation, "topic", prefix + topic),
                                                Acl("create", "topic", prefix + topic))]


def role_acls(role: str, ident: str = "", prefix: str = "evcharge.", group: str | None = None) -> tuple[Acl, ...]:
    """A component's ACLs. ``prefix``: the topic prefix (``--topic-prefix``); ``group``: its consumer
    group's full name, if not the default (``prefix`` + ``group_of``).

    Each driver reads its own events topic only (``ident``: the driver's id); Central writes (and
    may create) every driver's, by prefix."""
    if role not in FLOWS:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(FLOWS)}")
    reads, writes = FLOWS[role]
    if role == "driver":
        reads = (Topics.driver_events(ident),)
    own: list[Acl] = []
    if role == "central":
        family = prefix + Topics.DRIVER_EVENTS + "."
        own = [Acl("write", "topic", family, prefixed=True), Acl("create", "topic", family, prefixed=True)]
    default = group_of(role, ident)
    group_name = group if group is not None else (prefix + default if default is not None else None)
    groups = [Acl("read", "group", group_name)] if reads and group_name is not None else []
    return (*_topics("read", reads, prefix), *_topics("write", writes, prefix), *own, *groups)
