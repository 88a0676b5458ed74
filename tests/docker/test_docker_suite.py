"""A subset of the chaos suite on the docker backend, one or more scenarios of every fault family.

The subset runs as its own pytest session (``--chaos-backend docker``, secured, two workers), since
a backend is chosen once per session. It must pass whole, and the faults it applied must cover every
family of the fault registry that the suite applies, so a family cannot join the suite without
being tried in containers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chaos.faults.base import BaseFault
from chaos.faults.registry import fault_class, fault_kinds

ROOT = Path(__file__).resolve().parents[2]
SUBSET: dict[str, list[str]] = {
    "no fault": ["test_baseline.py::test_a_charge_without_faults"],
    "start order": ["test_start_order.py::test_component_starts_before_kafka[central]",
                    "test_start_order.py::test_component_starts_before_kafka[driver]",
                    "test_start_order.py::test_kafka_arrives_late[5s]"],
    "link cuts": ["test_link_cuts.py::test_link_cut[driver-at-authorization]",
                  "test_link_cuts.py::test_link_cut[central-during-telemetry]",
                  "test_link_cuts.py::test_link_cut[cp-before-ticket]"],
    "toxics": ["test_network_toxics.py::test_toxic_during_a_charge[latency-driver]",
               "test_network_toxics.py::test_toxic_during_a_charge[reset_peer-central]",
               "test_network_toxics.py::test_toxic_during_a_charge[slicer-cp]",
               "test_network_toxics.py::test_toxic_during_a_charge[limit_data-monitor]"],
    "broker faults": ["test_broker_faults.py::test_broker_fault_mid_session[kill]",
                      "test_broker_faults.py::test_broker_fault_mid_session[pause]",
                      "test_broker_faults.py::test_leader_killed_in_three_nodes"],
    "process faults": ["test_process_faults.py::test_central_sigkill_mid_session_and_restart",
                       "test_process_faults.py::test_engine_killed_while_charging_reports_fault_and_energy"],
    "seeded schedules": ["test_random_schedules.py::test_random_schedule[seed0]",
                         "test_random_schedules.py::test_random_schedule[seed1]"],
    "message faults": ["test_forgeries.py::test_no_forged_message_is_believed_during_a_live_charge"],
}
NODE_IDS = [f"scenarios/{test}" for tests in SUBSET.values() for test in tests]
NOT_IN_THE_SUITE = {"StartEarlyFault": "the suite stages start order with link-down and broker kills "
                                       "(scenarios/flows.py: start_before_kafka)"}
"""Fault families no scenario of the chaos suite applies (so the subset cannot either); the test
below fails the day one does, and the subset must then cover it."""


def family(kind: str) -> str:
    """A fault kind's family: the nearest abstract ``...Fault`` class above it (ToxicFault, LinkFault...)."""
    return next(c.__name__ for c in fault_class(kind).__mro__[1:] if c.__name__.endswith("Fault")
                and c is not BaseFault)


def test_the_subset_names_at_least_fifteen_scenarios_that_exist() -> None:
    assert len(NODE_IDS) >= 15
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             "-m", "chaos", *NODE_IDS], cwd=ROOT, capture_output=True, text=True, timeout=120)
    collected = {line.strip() for line in listed.stdout.splitlines() if "::" in line}
    assert collected == set(NODE_IDS), f"not collected: {sorted(set(NODE_IDS) - collected)}\n{listed.stderr}"


def test_the_families_left_out_are_really_not_in_the_suite() -> None:
    sources = "".join(path.read_text() for path in (ROOT / "scenarios").rglob("*.py"))
    for kind in fault_kinds():
        if family(kind) in NOT_IN_THE_SUITE:
            assert f'"{kind}"' not in sources, f"a scenario applies {kind}: the docker subset must cover its family"


@pytest.mark.docker
def test_the_subset_passes_on_the_docker_backend(docker_images: list[str], tmp_path: Path) -> None:
    figures, junit = tmp_path / "figures.jsonl", tmp_path / "junit.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *NODE_IDS, "-m", "chaos", "-q", "-p", "no:cacheprovider", "-n", "2",
         "--chaos-backend", "docker", "--chaos-security", "sasl", f"--chaos-figures={figures}",
         f"--junitxml={junit}", f"--basetemp={tmp_path / 'runs'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
    )
    summary = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, f"the docker subset failed:\n{summary}"
    cases = ET.parse(junit).getroot().iter("testcase")
    passed = [c for c in cases if not any(child.tag in ("failure", "error", "skipped") for child in c)]
    assert len(passed) == len(NODE_IDS), f"{len(passed)} of {len(NODE_IDS)} passed (none may skip):\n{summary}"
    applied = {kind for line in figures.read_text().splitlines() for kind in json.loads(line)["fault_kinds"]}
    missing = {family(kind) for kind in fault_kinds()} - {family(kind) for kind in applied} - set(NOT_IN_THE_SUITE)
    assert not missing, f"no scenario of the subset applied a fault of the families {sorted(missing)}"
