"""The target grammar: which link or which process a fault hits.

Network faults hit links, each a (client role, broker) pair with its own Toxiproxy proxy:

- ``"driver"``: every link of the ``driver`` role (it is cut off from the whole cluster);
- ``"driver@2"``: only the link from the ``driver`` role to broker 2.

Process faults hit a service of the system under test by name (``"central"``, ``"driver-D1"``) or
brokers:

- ``"broker:1"``: broker 1;
- ``"broker:leader:<topic>"`` or ``"broker:leader:<topic>:<partition>"``: the broker leading that
  partition (partition 0 by default), looked up when the fault is applied;
- ``"broker:minority"``: the highest-numbered ``(n - 1) // 2`` brokers (1 of 3), so quorum survives;
- ``"broker:all"``: every broker.

Targets are parsed when a fault is made, so a typo fails before anything is broken; which broker
leads a partition is only decided when the fault is applied, since leadership moves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chaos.faults.params import FaultSpecError
from chaos.infra.backends.base import Infra, Lifecycle

LINK_FORMS = "'<role>' (all of a role's links) or '<role>@<broker id>' (one link), e.g. 'api' or 'api@2'"
BROKER_FORMS = "'broker:<id>', 'broker:leader:<topic>[:<partition>]', 'broker:minority' or 'broker:all'"
_LINK_RE = re.compile(r"^(?P<role>[a-z][a-z0-9_]*)(?:@(?P<broker>\d+))?$")
_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]+$")


def broker_ids(infra: Infra) -> list[int]:
    return sorted(b.node_id for b in infra.endpoints.brokers)


@dataclass(frozen=True)
class LinkTarget:
    """A role's links, or one (role, broker) link."""

    role: str
    broker: int | None = None

    @classmethod
    def parse(cls, text: str) -> LinkTarget:
        match = _LINK_RE.match(text.strip())
        if match is None:
            raise FaultSpecError(f"bad link target {text!r}: use {LINK_FORMS}")
        broker = match["broker"]
        return cls(match["role"], None if broker is None else int(broker))

    def proxies(self, infra: Infra) -> list[str]:
        """The proxy names of this link (at least one), or a clear error naming what exists."""
        roles = sorted(infra.endpoints.roles)
        if self.role not in roles:
            raise FaultSpecError(f"link target {self.role!r}: no such client role; roles: {', '.join(roles)}")
        ids = broker_ids(infra)
        if self.broker is not None and self.broker not in ids:
            raise FaultSpecError(f"link target {self}: no broker {self.broker}; brokers: {ids}")
        names = infra.proxy_names(self.role, self.broker)
        if not names:
            raise FaultSpecError(f"link target {self}: Toxiproxy has no proxy for it (is the cluster up?)")
        return names

    def describe(self) -> str:
        return f"{self.role} link" if self.broker is None else f"{self.role}->broker {self.broker} link"

    def __str__(self) -> str:
        return self.role if self.broker is None else f"{self.role}@{self.broker}"


@dataclass(frozen=True)
class BrokerGroup:
    """One of the broker forms; ``nodes()`` decides which brokers it means right now."""

    selector: str  # "node", "leader", "minority" or "all"
    node: int | None = None
    topic: str | None = None
    partition: int = 0

    @classmethod
    def parse(cls, text: str) -> BrokerGroup:
        parts = text.split(":")
        if parts[0] != "broker" or len(parts) < 2:
            raise FaultSpecError(f"bad broker target {text!r}: use {BROKER_FORMS}")
        rest = parts[1:]
        if len(rest) == 1 and rest[0].isdigit():
            return cls("node", node=int(rest[0]))
        if len(rest) == 1 and rest[0] in ("minority", "all"):
            return cls(rest[0])
        if rest[0] == "leader" and len(rest) in (2, 3) and _TOPIC_RE.match(rest[1]):
            if len(rest) == 3 and not rest[2].isdigit():
                raise FaultSpecError(f"bad broker target {text!r}: the partition must be a number")
            return cls("leader", topic=rest[1], partition=int(rest[2]) if len(rest) == 3 else 0)
        raise FaultSpecError(f"bad broker target {text!r}: use {BROKER_FORMS}")

    def validate(self, infra: Infra) -> None:
        """Fail now for what cannot work whatever happens later: an unknown node, a too-small cluster."""
        try:
            infra.brokers  # noqa: B018 - raises for backends that do not own broker processes
        except NotImplementedError as exc:
            raise FaultSpecError(f"cannot target brokers: {exc}") from None
        ids = broker_ids(infra)
        if self.selector == "node" and self.node not in ids:
            raise FaultSpecError(f"no broker {self.node}; brokers: {ids}")
        if self.selector == "minority" and len(ids) < 3:
            raise FaultSpecError(
                f"a minority of {len(ids)} broker(s) is no broker at all; use a 3-node cluster or 'broker:<id>'"
            )

    def nodes(self, infra: Infra) -> list[int]:
        ids = broker_ids(infra)
        if self.selector == "node":
            return [self.node] if self.node is not None else []
        if self.selector == "all":
            return ids
        if self.selector == "minority":
            return ids[len(ids) - (len(ids) - 1) // 2 :]
        assert self.topic is not None
        try:
            return [infra.leader(self.topic, self.partition)]
        except (KeyError, OSError) as exc:
            raise FaultSpecError(
                f"no leader for {self.topic}-{self.partition} (does the topic exist?): {exc}"
            ) from None

    def describe(self) -> str:
        if self.selector == "node":
            return f"broker {self.node}"
        if self.selector == "leader":
            return f"leader broker of {self.topic}-{self.partition}"
        return f"{self.selector} brokers"


@dataclass(frozen=True)
class ServiceTarget:
    """A service of the system under test, by name."""

    name: str

    def describe(self) -> str:
        return self.name


ProcessTarget = BrokerGroup | ServiceTarget


def parse_process_target(text: str, services: Mapping[str, Lifecycle], infra: Infra) -> ProcessTarget:
    """A broker form, or the name of a service the context knows."""
    text = text.strip()
    if text.startswith("broker:"):
        group = BrokerGroup.parse(text)
        group.validate(infra)
        return group
    if text in services:
        return ServiceTarget(text)
    known = ", ".join(sorted(services)) or "none in this context"
    raise FaultSpecError(f"unknown process target {text!r}: use a service name ({known}) or {BROKER_FORMS}")


def resolve(target: ProcessTarget, services: Mapping[str, Lifecycle], infra: Infra) -> list[Lifecycle]:
    """The processes a target means now (the leader is looked up here)."""
    if isinstance(target, ServiceTarget):
        return [services[target.name]]
    return [infra.broker(node) for node in target.nodes(infra)]


def names(processes: Iterable[Lifecycle]) -> str:
    return ", ".join(p.name for p in processes)
