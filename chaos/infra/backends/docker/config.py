"""Where everything listens inside the containers, and what each broker is configured with.

Pure functions of the topology, with no Docker call, so the same layout can be checked offline
against ``docker-compose.yml`` and ``docker/toxiproxy.json`` (tests/docker) on machines without an engine.
"""

from __future__ import annotations

from pathlib import Path

from chaos.infra.kafka_broker import CLUSTER_ID, JVM_OPTS, server_properties
from chaos.infra.security import sasl_properties
from chaos.infra.topology import DEFAULT_ROLES, Link, Topology, validate_roles
from chaos.infra.toxiproxy.client import Proxy

TOXIPROXY_API_PORT = 8474
CONTROLLER_PORT = 19093
INTERNAL_PORT = 19092
ROLE_PORT_BASE = 19100
"""Role listener ``i`` of every broker listens on ``19100 + i`` inside its own container."""
PROXY_PORT_BASE = 21000
"""Proxy for (role ``i``, broker ``n``) listens on ``21000 + 100 n + i`` inside the Toxiproxy container."""
DATA_DIR = "/var/lib/kafka/data"


def broker_host(node_id: int) -> str:
    """A broker's name on the Docker network (also its service name in ``docker-compose.yml``)."""
    return f"kafka-{node_id}"


def layout(brokers: int = 1, roles: tuple[str, ...] = DEFAULT_ROLES) -> Topology:
    """The fixed in-container ports: the same shape as ``Topology.allocate``, but ports need not be free.

    Each container has its own network namespace, so every broker can use the same listener ports;
    only the proxies share one container and so get distinct ports.
    """
    if brokers not in (1, 3):
        raise ValueError(f"--brokers must be 1 or 3, not {brokers}")
    roles = validate_roles(roles)
    nodes = tuple(range(1, brokers + 1))
    links = tuple(
        Link(role, n, ROLE_PORT_BASE + i, PROXY_PORT_BASE + 100 * n + i)
        for n in nodes for i, role in enumerate(roles)
    )
    return Topology(
        host="0.0.0.0", node_ids=nodes, roles=roles,
        controller_ports=dict.fromkeys(nodes, CONTROLLER_PORT), internal_ports=dict.fromkeys(nodes, INTERNAL_PORT),
        links=links, toxiproxy_port=TOXIPROXY_API_PORT,
    )


def container_proxies(topology: Topology) -> list[Proxy]:
    """The Toxiproxy proxies as seen from inside the Docker network (also ``docker/toxiproxy.json``)."""
    return [
        Proxy(link.proxy_name, f"0.0.0.0:{link.proxy_port}", f"{broker_host(link.node_id)}:{link.listener_port}")
        for link in topology.links
    ]


def kafka_properties(
    topology: Topology, node_id: int, advertised: dict[str, str], sasl: bool = False,
) -> dict[str, str]:
    """One broker's server.properties: the local backend's tuned settings with container addresses.

    ``advertised`` maps each role to the ``host:port`` its clients reach that broker's proxy at.
    ``sasl``: the local backend's SASL settings too, but the static users' passwords, which a JAAS
    file gives (``docker-compose.yml``: ``chaos.infra.security.sasl_properties``).
    """
    own = topology.links_of(node_id=node_id)
    listeners = [f"CONTROLLER://0.0.0.0:{CONTROLLER_PORT}", f"INTERNAL://0.0.0.0:{INTERNAL_PORT}",
                 *(f"{link.role.upper()}://0.0.0.0:{link.listener_port}" for link in own)]
    advertised_listeners = [f"INTERNAL://{broker_host(node_id)}:{INTERNAL_PORT}",
                            *(f"{link.role.upper()}://{advertised[link.role]}" for link in own)]
    props = server_properties(topology, node_id, Path(DATA_DIR))
    props.update({
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(advertised_listeners),
        "controller.quorum.voters": ",".join(f"{n}@{broker_host(n)}:{CONTROLLER_PORT}" for n in topology.node_ids),
        **(sasl_properties(topology.roles) if sasl else {}),
    })
    return props


def kafka_env(properties: dict[str, str]) -> dict[str, str]:
    """Properties as the apache/kafka image reads them: ``a.b_c-d`` -> ``KAFKA_A_B__C___D``."""
    def name(key: str) -> str:
        return "KAFKA_" + key.replace("_", "__").replace("-", "___").replace(".", "_").upper()

    return {
        **{name(k): v for k, v in properties.items()},
        "CLUSTER_ID": CLUSTER_ID,
        "KAFKA_HEAP_OPTS": " ".join(o for o in JVM_OPTS if o.startswith("-Xm")),
        "KAFKA_JVM_PERFORMANCE_OPTS": " ".join(o for o in JVM_OPTS if not o.startswith("-Xm")),
    }
