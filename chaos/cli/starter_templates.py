"""The text of the files ``evchaos init`` writes, as ``string.Template``s (``$name`` is filled in).

Kept apart from the rendering (``chaos.cli.starter``) so each reads as the file it becomes. Values
arrive already rendered as Python literals or lists; ``$$`` would be a literal dollar.
"""

CONFTEST = '''\
"""The system under test as the resilience harness sees it: written by `evchaos init`, yours now.

Each service is a command the harness starts per scenario, with the Kafka client role it uses:
every role gets a listener and Toxiproxy proxies of its own on every broker, and `{bootstrap}`
is the service's own role's proxies, so a fault on a role's links hits exactly its services. The
probe reads each resource's state from the system's SQLite file (`{db}`), and the checks judge
those states and what the scenarios record. Placeholders the harness fills per run: {bootstrap},
{topic_prefix}, {db}, {workdir}, {service}, {failpoints}, {kafka_user}, {kafka_password}.
"""

$command
from __future__ import annotations

import pytest

from chaos.checks import InvariantSpec
from chaos.core.spec import ProbeSpec, ServiceSpec, SystemSpec
from chaos.pytest_plugin import roles_option

${env_block}LIMITS: dict[str, float] = $limits
"""Transient state -> the seconds a resource may stay in it (the rule `transient-state-limit`)."""

CHECKS = [
$checks    # TODO: add "request-deadline" and "recovery" once `workload` in test_chaos.py records its
    # requests with run.op(...): without requests, "recovery" could only say recovery is unproven.
]
"""The rules the scenarios judge (`evchaos checks` lists them all)."""


def system_spec() -> SystemSpec:
    """The services, their probe and their rules; `evchaos faults` lists what can break them."""
    return SystemSpec(
        $name_literal,
        services=[
$services        ],
        probe=$probe,
        invariants=InvariantSpec(transient_limits=LIMITS),
        checks=CHECKS,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: a resilience scenario against real Kafka and Toxiproxy")


@pytest.fixture(scope="session")
def chaos_roles(pytestconfig: pytest.Config) -> tuple[str, ...]:
    """The cluster's client roles: the spec's (`--chaos-roles a,b` overrides them)."""
    return roles_option(pytestconfig) or system_spec().roles


@pytest.fixture
def chaos_spec() -> SystemSpec:
    """The system every `chaos_scenario` in this folder runs."""
    return system_spec()
'''

SCENARIOS = '''\
"""Resilience scenarios for the system in conftest.py, written by `evchaos init`: yours to edit.

Three faults a system on Kafka must survive, each while its clients (`workload`) run: a service
started while Kafka is out of its reach, one role's links cut, and the broker leading a partition
killed. Each scenario starts the system (conftest.py), breaks it, heals it, lets it settle and
judges what was recorded with `run.assert_invariants()`. Run them with `pytest -m chaos` here.
"""

$command
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from chaos.core.scenario import Scenario
from chaos.core.testmap import TestMap
from chaos.infra.backends.base import Infra

pytestmark = pytest.mark.chaos

EARLY = $early
"""The service started while its links to Kafka are down (`before-proxies`)."""
CUT = $cut$cut_note
"""The Kafka role whose links are cut (`link-down`): every service in it."""
TOPIC = $topic
"""The topic (without the run's prefix) whose partition 0 loses its leader (`kill`)."""
HEAD_START = $head_start
"""Seconds the early service runs before its links come up."""
WARM_UP, HOLD = 2.0, 3.0
"""Seconds the clients run before each fault, and how long the fault holds."""
SETTLE = $settle
"""Seconds after each heal before judging: past the longest transient-state limit, so a resource
left stuck past its limit is caught."""


# --- TODO: your clients ---------------------------------------------------------------------------
# Drive the system the way its users do until `stop` is set, and record every call with run.op(...),
# ending each one ok, failed or unknown, e.g.
#
#     with run.op("client-1", "submit", resource=order_id) as op:
#         reply = my_api.submit(order_id)      # your client call
#         op.ok(reply) if reply.accepted else op.fail(reply.reason)   # op.unknown(...) on a timeout
#
# Then add "request-deadline" and "recovery" to CHECKS in conftest.py. As written it only waits:
# the faults still run, and the checks judge the states the probe reads.
def workload(run: Scenario, stop: threading.Event) -> None:
    """The clients, beside every fault."""
    stop.wait()
# --------------------------------------------------------------------------------------------------


def through(run: Scenario, kind: str, target: str, hold: float = HOLD) -> None:
    """With the clients running: apply the fault for `hold` s, heal it, wait until every service is
    ready again, let the system settle, and judge everything the run recorded."""
    with run.playing():
        time.sleep(WARM_UP)
        with run.fault(kind, target):
            time.sleep(hold)
        for service in run.spec.services:
            run.service(service.name).wait_ready()
        time.sleep(SETTLE)
    run.assert_invariants()


def test_started_before_kafka(chaos_scenario: Callable[..., Scenario]) -> None:
    """The early service is restarted with its links down and must serve once they are up: a
    client that gives up on its first connection, or keeps a dead one, fails here. (`before-kafka`
    stops every broker instead: the real thing, and slower.)"""
    run = chaos_scenario(TestMap(f"{EARLY} starts {HEAD_START:g} s before kafka", workload=workload))
    run.start()
    through(run, "before-proxies", EARLY, hold=HEAD_START)


def test_link_cut(chaos_scenario: Callable[..., Scenario]) -> None:
    """One role's links go down while the clients run: connections refused, open ones dropped."""
    run = chaos_scenario(TestMap(f"{CUT} link cut", workload=workload))
    run.start()
    through(run, "link-down", CUT)


def test_leader_killed(chaos_scenario: Callable[..., Scenario], $cluster: Infra) -> None:
    """The broker leading the topic's partition 0 is killed (SIGKILL) and started again. On `infra`
    (one broker) the whole cluster is away meanwhile; on `infra3` (3 nodes) another broker leads."""
    run = chaos_scenario(TestMap(f"leader of {TOPIC} killed", workload=workload), cluster=$cluster)
    topic = $topic_expr
    run.start()
    run.wait_for(f"a leader for {topic} (does the system write it?)", lambda: $cluster.leader(topic) >= 0, 60)
    through(run, "kill", f"broker:leader:{topic}")
'''
