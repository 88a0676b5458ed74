"""The EV charging network as a system under test: its processes, their Kafka roles, readiness,
the CP-state probe and the invariants. The root ``conftest.py`` wires it to the harness's fixtures;
it is a module of its own so tests can import its rules and constants by name.
"""

from __future__ import annotations

import sys

from chaos.checks import InvariantSpec
from chaos.core.spec import DeadLetterSpec, ProbeSpec, ServiceSpec, SystemSpec
from chaos.infra.topology import free_ports
from evcharge.messages import Topics

CPS = ("CP_001", "CP_002")
DRIVERS = ("D1", "D2")
TTL = 5.0
"""Central's reservation time-to-live in the suites: short, so a stuck reservation shows quickly."""
CHARGING_SLACK = 12.0
"""How much longer than its duration a charge may take under faults (outage, reconnect, recovery)."""

EV_RULES = InvariantSpec(
    transient_limits={"reserved": TTL + 3.0},  # TTL + the sweeper's period + sampling slack
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
)


STATE_COLORS = {
    "available": "#4caf50",
    "reserved": "#ffb300",
    "charging": "#1e88e5",
    "stopped": "#9e9e9e",
    "fault": "#e53935",
    "disconnected": "#5e35b1",
}
"""How the timeline shows a CP's states, in legend order: green is fine, amber waits, red broke."""


CONSUMED_TOPICS = (*Topics.CENTRAL_INPUTS, Topics.CP_COMMANDS, Topics.DRIVER_EVENTS)
"""Every topic one of the network's consumers reads: Central's four, the engines', the drivers'."""
DEAD_LETTERS = DeadLetterSpec(
    Topics.DEAD_LETTER, topic_field="payload.topic", partition_field="payload.partition",
    offset_field="payload.offset", reason_field="payload.reason",
)
"""Every component writes what it rejected to ``dead-letter``, as a ``dead_letter`` message."""


def evcharge(*args: str) -> list[str]:
    return [sys.executable, "-m", "evcharge.cli", *args]


def ev_spec(
    ttl: float = TTL,
    variant: str = "fixed",
    charge_duration: float = 0.5,
    driver_deadline: float = 25.0,
    rules: InvariantSpec = EV_RULES,
) -> SystemSpec:
    """The EV network as a system under test: Central, two CPs (engine + monitor), two drivers.

    Ports are chosen now, so two specs never collide. ``variant="seed"`` runs the original buggy
    driver (its producer is created once at start), which the harness must catch.
    """
    ports = iter(free_ports(len(CPS) + len(DRIVERS)))
    env = {
        "EVCHARGE_BOOTSTRAP": "{bootstrap}",
        "EVCHARGE_TOPIC_PREFIX": "{topic_prefix}",
        "EVCHARGE_BACKOFF_MAX": "1",
        "EVCHARGE_BOOTSTRAP_TIMEOUT": "3",
        "PYTHONUNBUFFERED": "1",
    }
    services = [
        ServiceSpec(
            "central", evcharge("central", "--db", "{db}", "--reservation-ttl", str(ttl), "--heartbeat-timeout", "4",
                                "--cps", ",".join(CPS)),
            role="central", env=env, ready="log line central starting", ready_timeout=30,
        )
    ]
    for cp in CPS:
        port = next(ports)
        services += [
            ServiceSpec(
                f"cp-{cp}",
                evcharge("cp", "--id", cp, "--health-port", str(port), "--charge-duration", str(charge_duration),
                         "--telemetry-period", str(min(0.5, charge_duration / 2))),
                role="cp", env=env, ready=f"tcp {port}", ready_timeout=30,
            ),
            ServiceSpec(
                f"monitor-{cp}", evcharge("monitor", "--cp", cp, "--engine-port", str(port), "--period", "0.5"),
                role="monitor", env=env, ready="log line monitor watching engine", ready_timeout=30,
            ),
        ]
    for driver in DRIVERS:
        port = next(ports)
        services.append(
            ServiceSpec(
                f"driver-{driver}",
                evcharge("driver", "--id", driver, "--api-port", str(port), "--variant", variant,
                         "--request-deadline", str(driver_deadline)),
                role="driver", env=env, ready=f"http GET http://127.0.0.1:{port}/health", ready_timeout=30,
            )
        )
    # A charge must end too: a CP left ``charging`` long after its duration is as stuck as a
    # reservation nobody uses (the first chaos runs found exactly that after a cp link cut).
    charging_limit = {"charging": charge_duration + CHARGING_SLACK}
    return SystemSpec(
        name="ev-charging" if variant == "fixed" else f"ev-charging ({variant} driver)",
        services=services,
        probe=ProbeSpec(query="SELECT cp_id, state FROM cps"),
        invariants=rules.with_overrides(transient_limits={**charging_limit, **rules.transient_limits}),
        state_colors=STATE_COLORS,
        consumes=CONSUMED_TOPICS,
        dead_letters=DEAD_LETTERS,
    )
