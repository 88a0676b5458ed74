"""The toy's system-under-test spec: a second system tied to the harness by a spec alone.

It runs through the ``chaos_scenario`` fixture exactly like the EV network, with no edit to ``chaos/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from chaos.checks import InvariantSpec
from chaos.core.spec import ProbeSpec, ServiceSpec, SystemSpec

HERE = Path(__file__).resolve().parent
DEADLINE, RECOVERY = 4.0, 5.0
RULES = InvariantSpec(
    transient_limits={"reserved": 3.0},
    request_deadline=DEADLINE,
    request_ops=frozenset({"reserve"}),
    recovery_within=RECOVERY,
)


def toy_spec(lease: float) -> SystemSpec:
    """The holder (producer, role ``cp``) and the keeper (consumer, role ``central``); ``lease=0`` is broken."""
    topic = ["--bootstrap", "{bootstrap}", "--topic", "{topic_prefix}leases"]
    env = {"PYTHONPATH": str(HERE.parents[2])}  # the toy's processes use tests/kafka_clients.py
    return SystemSpec(
        name="toy-leases" if lease else "toy-leases-broken",
        services=[
            ServiceSpec(
                "toy-keeper",
                [sys.executable, str(HERE / "toy_keeper.py"), *topic, "--db", "{db}", "--lease", str(lease)],
                role="central",
                env=env,
                ready="log line keeper ready",
                ready_timeout=20,
            ),
            ServiceSpec(
                "toy-holder", [sys.executable, str(HERE / "toy_holder.py"), *topic],
                role="cp", env=env, ready="log line holder ready", ready_timeout=20,
            ),
        ],
        probe=ProbeSpec(query="SELECT id, state FROM resources"),
        invariants=RULES,
    )
