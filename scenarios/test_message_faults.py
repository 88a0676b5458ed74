"""Hostile and repeated records on every topic the network consumes: nothing crashes, nothing blocks,
nothing goes deaf, nothing is believed, and every rejected record leaves a dead letter.

The cases are derived, not listed: every message-fault kind in the registry (malformed, oversized,
nested, wrong types, duplicated, replayed) on every topic the spec says the network consumes. One
scenario per topic plays all the kinds in turn, each window lasting until every consumer group has
committed past its records; then a fresh request must be served end to end. The checks judge the
rest: ``rejected-records-dead-lettered``, ``nothing-believed``, ``services-alive`` and the usual ones.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from chaos.faults import fault_kinds
from chaos.faults.messages import MessageFault
from evcharge.messages import Topics
from scenarios.ev import EvScenario
from scenarios.ev_spec import CONSUMED_TOPICS
from scenarios.flows import serve_and_check

pytestmark = pytest.mark.chaos

KINDS = fault_kinds(of=MessageFault)


def operator_command(run: EvScenario) -> None:
    """A real ``resume --all`` from the operator's command line, sealed with the operator's key, so
    ``commands`` holds a record Central believes."""
    access = run.scenario.infra.endpoints.harness_access()
    credentials = run.scenario.infra.endpoints.harness_credentials  # on a secured cluster: the harness's
    login = {"EVCHARGE_KAFKA_USER": credentials.user, "EVCHARGE_KAFKA_PASSWORD": credentials.password,
             "EVCHARGE_KAFKA_SASL_MECHANISM": credentials.mechanism} if credentials else {}
    done = subprocess.run(
        [sys.executable, "-m", "evcharge.cli", "command", "resume", "--all", "--bootstrap", access.bootstrap,
         "--topic-prefix", run.scenario.topic_prefix, "--timeout", "20", "--operator", "operator",
         "--key-file", str(run.scenario.system.workdir / "keys" / "operator-operator.key")],
        capture_output=True, text=True, timeout=60, env={**os.environ, **login},
    )
    assert done.returncode == 0, f"evcharge command failed: {done.stderr}"


@pytest.mark.parametrize("topic", CONSUMED_TOPICS)
def test_hostile_records_change_nothing(ev, topic):
    run = ev(f"hostile records on {topic}")
    run.start()
    run.ready(warm=True)
    charge = run.charge("D1", "CP_001")  # real records on every topic, to mutate and to replay
    charge.wait({"completed"}, 30)
    if topic == Topics.COMMANDS:
        operator_command(run)
    run.wait_cps()
    for kind in KINDS:
        with run.fault(kind, topic) as fault:
            run.scenario.wait_consumed(fault)
    serve_and_check(run, charge)
