"""The Kafka-aware network: one listener per client role on every broker, each behind its own proxy.

A Kafka client uses its bootstrap address only once; after that it talks to whatever addresses the
brokers advertise in metadata. If a broker advertised its real port, every client would bypass
Toxiproxy after the first call and a "link down" would cut nothing (the well-known trap). So each
broker gets a listener per role (``DRIVER://127.0.0.1:41001``...), and that listener advertises the
Toxiproxy proxy dedicated to the (role, broker) pair. A client of role X learns only X's proxies, and
disabling them cuts X and nobody else. Brokers talk to each other and to the controller directly.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from chaos.infra.ports import free_ports
from chaos.infra.toxiproxy.client import Proxy

HARNESS_ROLE = "harness"
"""The harness's own clients (topic set-up, injected records, observers): every cluster has this role."""
DEFAULT_ROLES = (HARNESS_ROLE,)
"""A cluster's roles when nobody names any. A system's roles come from its spec (``SystemSpec.roles``)."""
RESERVED_LISTENERS = ("CONTROLLER", "INTERNAL")
_ROLE_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


def parse_roles(text: str) -> tuple[str, ...]:
    """``"driver, central"`` -> ``("driver", "central")`` (the form of ``--roles`` and ``EVCHAOS_ROLES``)."""
    return tuple(role.strip() for role in text.split(",") if role.strip())


def with_harness(roles: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The roles given, in order, plus the harness's own role at the end if it is missing."""
    return (*roles, HARNESS_ROLE) if HARNESS_ROLE not in roles else tuple(roles)


def validate_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    for role in roles:
        if not _ROLE_RE.match(role) or role.upper() in RESERVED_LISTENERS:
            raise ValueError(
                f"bad client role {role!r}: use lower-case letters, digits and '_' (e.g. 'api'), "
                f"and not {', '.join(r.lower() for r in RESERVED_LISTENERS)}"
            )
    if len(set(roles)) != len(roles) or not roles:
        raise ValueError(f"client roles must be distinct and at least one: {list(roles)}")
    return tuple(roles)


@dataclass(frozen=True)
class Link:
    """One (role, broker) pair: the broker's listener for that role and the proxy in front of it."""

    role: str
    node_id: int
    listener_port: int
    proxy_port: int

    @property
    def proxy_name(self) -> str:
        return f"{self.role}-b{self.node_id}"


@dataclass(frozen=True)
class Topology:
    """Every port of a cluster, decided before anything starts so configs can name each other."""

    host: str
    node_ids: tuple[int, ...]
    roles: tuple[str, ...]
    controller_ports: dict[int, int]
    internal_ports: dict[int, int]
    links: tuple[Link, ...]
    toxiproxy_port: int

    @classmethod
    def allocate(
        cls, brokers: int, roles: tuple[str, ...] = DEFAULT_ROLES, host: str = "127.0.0.1"
    ) -> Topology:
        if brokers not in (1, 3):
            raise ValueError(f"--brokers must be 1 or 3, not {brokers}")
        roles = validate_roles(with_harness(roles))
        node_ids = tuple(range(1, brokers + 1))
        ports = iter(free_ports(1 + brokers * (2 + 2 * len(roles)), host, hold=None))  # the cluster's lifetime
        toxiproxy_port = next(ports)
        controller = {n: next(ports) for n in node_ids}
        internal = {n: next(ports) for n in node_ids}
        links = tuple(Link(r, n, next(ports), next(ports)) for n in node_ids for r in roles)
        return cls(host, node_ids, roles, controller, internal, links, toxiproxy_port)

    # -- addresses -------------------------------------------------------------------------------
    def addr(self, port: int) -> str:
        return f"{self.host}:{port}"

    @property
    def toxiproxy_api(self) -> str:
        return f"http://{self.host}:{self.toxiproxy_port}"

    def ports(self) -> set[int]:
        """Every port the cluster binds: Toxiproxy's API, each broker's controller and internal
        listeners, and each link's listener and proxy."""
        return {self.toxiproxy_port, *self.controller_ports.values(), *self.internal_ports.values(),
                *(port for link in self.links for port in (link.listener_port, link.proxy_port))}

    def internal_address(self, node_id: int) -> str:
        return self.addr(self.internal_ports[node_id])

    def links_of(self, role: str | None = None, node_id: int | None = None) -> list[Link]:
        if role is not None and role not in self.roles:
            raise KeyError(f"unknown client role {role!r}; roles: {', '.join(self.roles)}")
        return [
            link
            for link in self.links
            if (role is None or link.role == role) and (node_id is None or link.node_id == node_id)
        ]

    def bootstrap(self, role: str) -> str:
        return ",".join(self.addr(link.proxy_port) for link in self.links_of(role))

    def proxies(self) -> list[Proxy]:
        return [
            Proxy(link.proxy_name, self.addr(link.proxy_port), self.addr(link.listener_port))
            for link in self.links
        ]

    # -- broker configuration --------------------------------------------------------------------
    def listener_properties(self, node_id: int) -> dict[str, str]:
        """The listener part of one broker's server.properties."""
        own = self.links_of(node_id=node_id)
        listeners = [
            f"CONTROLLER://{self.addr(self.controller_ports[node_id])}",
            f"INTERNAL://{self.internal_address(node_id)}",
            *(f"{link.role.upper()}://{self.addr(link.listener_port)}" for link in own),
        ]
        advertised = [
            f"INTERNAL://{self.internal_address(node_id)}",
            *(f"{link.role.upper()}://{self.addr(link.proxy_port)}" for link in own),
        ]
        names = [*RESERVED_LISTENERS, *(r.upper() for r in self.roles)]
        return {
            "listeners": ",".join(listeners),
            "advertised.listeners": ",".join(advertised),
            "listener.security.protocol.map": ",".join(f"{n}:PLAINTEXT" for n in names),
            "inter.broker.listener.name": "INTERNAL",
            "controller.listener.names": "CONTROLLER",
        }

    def quorum_voters(self) -> str:
        return ",".join(f"{n}@{self.addr(self.controller_ports[n])}" for n in self.node_ids)

    # -- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Topology:
        def int_keys(d: object) -> dict[int, int]:
            return {int(k): int(v) for k, v in dict(d).items()}  # type: ignore[call-overload]

        return cls(
            host=str(raw["host"]),
            node_ids=tuple(raw["node_ids"]),  # type: ignore[arg-type]
            roles=tuple(raw["roles"]),  # type: ignore[arg-type]
            controller_ports=int_keys(raw["controller_ports"]),
            internal_ports=int_keys(raw["internal_ports"]),
            links=tuple(Link(**link) for link in raw["links"]),  # type: ignore[attr-defined]
            toxiproxy_port=int(raw["toxiproxy_port"]),  # type: ignore[call-overload]
        )
