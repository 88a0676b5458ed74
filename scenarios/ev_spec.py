"""The EV charging network as a system under test: its processes, their Kafka roles, readiness,
the CP-state probe and the invariants. The root ``conftest.py`` wires it to the harness's fixtures;
it is a module of its own so tests can import its rules and constants by name.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from chaos.checks import InvariantSpec
from chaos.core.spec import AuditSpec, DeadLetterSpec, FactSpec, ProbeSpec, ServiceSpec, SystemSpec
from chaos.infra.ports import free_ports
from evcharge.messages import Topics
from scenarios.ev.enrolment import REGISTRY, enrol, key_file
from scenarios.ev.forgeries import forge
from scenarios.ev.grants import grants_for
from scenarios.ev.meter_records import state_file

CPS = ("CP_001", "CP_002")
DRIVERS = ("D1", "D2")
"""The default network's CPs and drivers (``ev_spec`` names more the same way)."""
TTL = 5.0
"""Central's reservation time-to-live in the suites: short, so a stuck reservation shows quickly."""
CHARGING_SLACK = 12.0
"""How much longer than its duration a charge may take under faults (outage, reconnect, recovery)."""

OPERATOR = ("operator", "operator")
"""The network's operator principal (``evcharge command --operator operator --key-file ...``)."""

CENTRAL_DOWN = tuple(f"{kind}@central" for kind in ("kill", "kill-at", "term", "pause", "rewind", "restart"))
"""The faults during which Central is not running (its process killed, stopped or starting again)."""

EV_RULES = InvariantSpec(
    transient_limits={"reserved": TTL + 3.0},  # TTL + the sweeper's period + sampling slack
    # A charge ends when its completion reaches Central: not while the brokers are away (a killed
    # broker's restart alone takes 5-8 s here), nor while Central is dead, stopped or starting again
    # (two precise kills of Central in one charge, on a slow machine, kept a CP charging 13.6 s). A
    # reservation ends by Central's own TTL: not while Central is dead or stopped, but through any
    # cut of its links (its sweeper keeps running).
    transient_paused_by={"charging": ["broker:", *CENTRAL_DOWN], "reserved": list(CENTRAL_DOWN)},
    request_deadline=30.0,
    request_ops=frozenset({"charge"}),
    recovery_within=20.0,
    fresh_request_ops=frozenset({"charge"}),
    acquire_ops=frozenset(),  # allocation is judged on Central's sessions, placed at their real times
    acquire_event="acquired",
    release_ops=frozenset(),
    release_event="released",
    holder_field="holder",
    session_end_event="session_end",
    ticket_event="ticket",
    session_field="session",
    quantity_sources=frozenset({"metered"}),
    quantity_sinks=frozenset({"db_ticket", "ticket_sent", "ticket"}),
    quantity_field="quantity",
    amount_field="amount",
    rate_field="rate",
    reflections={
        "request_sent": {"key": "request", "by": ["request_answered"]},
        "start_sent": {"key": "reservation", "by": ["acquired", "start_denied"]},
        "completion_sent": {"key": "session", "by": ["db_ticket"]},
        "supply_ordered": {"key": "session", "by": ["metered"]},
    },
    reflection_within=30.0,
    reflection_settle=10.0,
    effect_events=frozenset({"db_ticket", "ticket_sent"}),
    effect_id_field="ticket",
    told_ops=frozenset({"charge"}),
)
"""The rules the EV network is held to. Conservation's tolerance is one telemetry tick of energy,
set by ``ev_spec`` from the engines' power and telemetry period."""

POWER_KW = 22.0
"""The engines' power (``EngineConfig.power_kw``): a tick's energy is power x period."""


def _fact(topic: str, type_: str, event: str, **fields: str) -> FactSpec:
    return FactSpec(topic, event, where={"type": type_}, id="message_id",
                    fields={name: f"payload.{path}" for name, path in fields.items()})


ALL_DRIVER_EVENTS = Topics.DRIVER_EVENTS + ".*"
"""Every driver's own events topic (``Topics.driver_events``), as the facts read them."""

FACTS = (
    _fact(Topics.DRIVER_REQUESTS, "authorization_request", "request_sent",
          request="request_id", holder="driver_id", resource="cp_id"),
    _fact(ALL_DRIVER_EVENTS, "authorization_response", "request_answered",
          request="request_id", holder="driver_id", resource="cp_id"),
    _fact(Topics.DRIVER_REQUESTS, "charging_started", "start_sent",
          reservation="reservation_id", holder="driver_id", resource="cp_id"),
    _fact(ALL_DRIVER_EVENTS, "session_denied", "start_denied", reservation="reservation_id", holder="driver_id"),
    _fact(Topics.CP_COMMANDS, "start_supply", "supply_ordered", session="session_id", resource="cp_id"),
    _fact(Topics.CP_EVENTS, "telemetry", "metered", session="session_id", resource="cp_id", quantity="kwh"),
    _fact(Topics.CP_EVENTS, "charging_completed", "metered", session="session_id", resource="cp_id",
          quantity="kwh"),
    _fact(Topics.CP_EVENTS, "charging_completed", "completion_sent", session="session_id", resource="cp_id"),
    _fact(ALL_DRIVER_EVENTS, "ticket", "ticket_sent", ticket="ticket_id", session="session_id",
          resource="cp_id", holder="driver_id", quantity="kwh", amount="price_eur"),
)
"""What the network's topics say happened, read back at the end of every run (``chaos.core.facts``):
each request and its answer, each start and its session, each supply order and its metering, each
completion and its ticket."""


STATE_COLORS = {
    "available": "#4caf50",
    "reserved": "#ffb300",
    "charging": "#1e88e5",
    "stopped": "#9e9e9e",
    "fault": "#e53935",
    "disconnected": "#5e35b1",
}
"""How the timeline shows a CP's states, in legend order: green is fine, amber waits, red broke."""


CONSUMED_TOPICS = (*Topics.CENTRAL_INPUTS, Topics.CP_COMMANDS, Topics.driver_events(DRIVERS[0]))
"""One of each kind of topic the network's consumers read: Central's four, the engines', and a
driver's own (D1's; every driver has one alike): what the message-fault suites write into."""


def consumed_topics(driver_ids: tuple[str, ...]) -> tuple[str, ...]:
    """Every topic a network with ``driver_ids`` consumes: its consumers' lag is judged on all of them."""
    return (*Topics.CENTRAL_INPUTS, Topics.CP_COMMANDS, *(Topics.driver_events(d) for d in driver_ids))
DEAD_LETTERS = DeadLetterSpec(
    Topics.DEAD_LETTER, topic_field="payload.topic", partition_field="payload.partition",
    offset_field="payload.offset", reason_field="payload.reason",
)
"""Every component writes what it rejected to ``dead-letter``, as a ``dead_letter`` message."""


PRELOAD = (
    "kafka", "evcharge.cli", "evcharge.runners", "evcharge.auth.options", "evcharge.central.service",
    "evcharge.central.handlers", "evcharge.central.store", "evcharge.central.auth", "evcharge.registry.store",
    "evcharge.cp.engine", "evcharge.cp.monitor", "evcharge.cp.health", "evcharge.driver.api", "evcharge.webapi.guard",
)
"""What every role's runner imports (``evcharge.runners``): each service is forked with it imported."""


def evcharge(*args: str) -> list[str]:
    return [sys.executable, "-m", "evcharge.cli", *args]


def ev_spec(
    ttl: float = TTL,
    variant: str = "fixed",
    charge_duration: float = 0.5,
    driver_deadline: float = 25.0,
    rules: InvariantSpec = EV_RULES,
    cps: int = len(CPS),
    drivers: int = len(DRIVERS),
    authenticated: bool = True,
    log_levels: Mapping[str, str] | None = None,
) -> SystemSpec:
    """The EV network as a system under test: Central, ``cps`` CPs (engine + monitor), ``drivers`` drivers.

    Two and two by default (``CP_001``, ``D1``...); the contention suites ask for more. Ports are
    chosen now, so two specs never collide. ``authenticated`` (the default): every principal is
    enrolled before the scenario starts and every message is sealed and checked (``evcharge.auth``);
    refusals go to each component's audit log in the work folder. ``log_levels``: a service's log
    level by its name (``{"central": "DEBUG"}``), ``"*"`` for every other one; by default
    ``EVCHAOS_LOG_LEVEL`` or INFO (what the report attaches, bounded, for each service).
    ``variant="seed"`` runs the original buggy driver (its producer is created once at start),
    which the harness must catch.
    """
    cp_ids = cp_names(cps)
    driver_ids = driver_names(drivers)
    ports = iter(free_ports(len(cp_ids) + len(driver_ids)))
    period = min(0.5, charge_duration / 2)
    env = {
        "EVCHARGE_BOOTSTRAP": "{bootstrap}",
        "EVCHARGE_TOPIC_PREFIX": "{topic_prefix}",
        "EVCHARGE_BACKOFF_MAX": "1",
        "EVCHARGE_BOOTSTRAP_TIMEOUT": "3",
        "PYTHONUNBUFFERED": "1",
        "EVCHARGE_FAILPOINTS": "{failpoints}",
        "EVCHARGE_KAFKA_USER": "{kafka_user}",  # empty (no SASL) unless the cluster is secured
        "EVCHARGE_KAFKA_PASSWORD": "{kafka_password}",
    }
    levels = {"*": os.environ.get("EVCHAOS_LOG_LEVEL") or "INFO", **(log_levels or {})}

    def env_of(service: str) -> dict[str, str]:
        return {**env, "EVCHARGE_LOG_LEVEL": levels.get(service, levels["*"])}

    def secured(name: str, kind: str = "", ident: str = "", audited: bool = True) -> list[str]:
        """The security flags of one service: its key file (Central: the registry) and its audit log."""
        if not authenticated:
            return []
        key = ["--registry-db", REGISTRY] if kind == "" else ["--key-file", key_file(kind, ident)]
        audit = ["--audit-log", "{workdir}/" + f"{name}.audit", "--audit-key-file", "{workdir}/" + f"{name}.audit-key"]
        return key + (audit if audited else [])

    services = [
        ServiceSpec(
            "central", evcharge("central", "--db", "{db}", "--reservation-ttl", str(ttl), "--heartbeat-timeout", "4",
                                "--cps", ",".join(cp_ids), *secured("central")),
            role="central", env=env_of("central"), ready="log line central starting", ready_timeout=30,
            grants=grants_for("central"),
        )
    ]
    for cp in cp_ids:
        port = next(ports)
        services += [
            ServiceSpec(
                f"cp-{cp}",
                evcharge("cp", "--id", cp, "--health-port", str(port), "--charge-duration", str(charge_duration),
                         "--telemetry-period", str(period),
                         "--state", state_file(cp), *secured(f"cp-{cp}", "cp", cp)),
                role="cp", env=env_of(f"cp-{cp}"), ready=f"tcp {port}", ready_timeout=30, grants=grants_for("cp"),
            ),
            ServiceSpec(
                f"monitor-{cp}", evcharge("monitor", "--cp", cp, "--engine-port", str(port), "--period", "0.5",
                                                 *secured(f"monitor-{cp}", "cp", cp, audited=False)),
                role="monitor", env=env_of(f"monitor-{cp}"), ready="log line monitor watching engine", ready_timeout=30,
                grants=grants_for("monitor"),
            ),
        ]
    for driver in driver_ids:
        port = next(ports)
        services.append(
            ServiceSpec(
                f"driver-{driver}",
                evcharge("driver", "--id", driver, "--api-port", str(port), "--variant", variant,
                         "--request-deadline", str(driver_deadline),
                         "--api-token-file", "{workdir}/" + f"driver-{driver}.token",
                         *(secured(f"driver-{driver}", "driver", driver) or [
                             "--audit-log", "{workdir}/" + f"driver-{driver}.audit",
                             "--audit-key-file", "{workdir}/" + f"driver-{driver}.audit-key"])),
                role="driver", env=env_of(f"driver-{driver}"), ready=f"http GET http://127.0.0.1:{port}/health",
                ready_timeout=30,
                grants=grants_for("driver", driver),
            )
        )
    # A charge must end too: a CP left ``charging`` long after its duration is as stuck as a
    # reservation nobody uses (the first chaos runs found exactly that after a cp link cut).
    charging_limit = {"charging": charge_duration + CHARGING_SLACK}
    return SystemSpec(
        name="ev-charging" if variant == "fixed" else f"ev-charging ({variant} driver)",
        services=services,
        probe=ProbeSpec(query="SELECT cp_id, state FROM cps"),
        invariants=rules.with_overrides(
            transient_limits={**charging_limit, **rules.transient_limits},
            quantity_tolerance=rules.quantity_tolerance if rules.quantity_tolerance is not None
            else round(POWER_KW * period / 3600 + 1e-6, 7),
        ),
        state_colors=STATE_COLORS,
        consumes=consumed_topics(driver_ids),
        dead_letters=DEAD_LETTERS,
        facts=FACTS,
        setup=[enrol([*(("cp", cp) for cp in cp_ids), *(("driver", d) for d in driver_ids), OPERATOR])]
        if authenticated else [],
        forgeries=forge if authenticated else None,
        audit=AuditSpec("*.audit") if authenticated else None,
        preload=PRELOAD,
    )


def cp_names(count: int) -> tuple[str, ...]:
    """``CP_001`` ... : the CPs of a network of ``count``."""
    return tuple(f"CP_{n:03d}" for n in range(1, count + 1))


def driver_names(count: int) -> tuple[str, ...]:
    """``D1`` ... : the drivers of a network of ``count``."""
    return tuple(f"D{n}" for n in range(1, count + 1))
