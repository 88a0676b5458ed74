"""Root fixtures: the EV charging network wired to the harness.

The generic fixtures (``infra``, ``infra3``, ``topic_prefix``, ``chaos_scenario``, ``chaos_seed``)
come from the ``evchaos`` pytest plugin (``chaos/pytest_plugin.py``), installed with the package.
This file wires our system in: ``chaos_spec`` is the EV network's system-under-test spec (built by
``scenarios/ev_spec.py``: which processes, which Kafka role each uses, how to tell it is ready, how
to read CP states, which invariants hold), ``chaos_roles`` gives the cluster one listener per Kafka
role the spec's services use, and ``ev`` starts an EV scenario with its driver clients
(``scenarios/ev/``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chaos.core.spec import SystemSpec
from chaos.core.testmap import TestMap
from chaos.pytest_plugin import roles_option
from scenarios.ev_spec import ev_spec


@pytest.fixture(scope="session")
def chaos_roles(pytestconfig: pytest.Config) -> tuple[str, ...]:
    """The EV network's Kafka roles (``--chaos-roles`` still wins): the spec's, not a list kept here."""
    return roles_option(pytestconfig) or ev_spec().roles


@pytest.fixture
def chaos_spec() -> SystemSpec:
    """The default system under test for ``chaos_scenario``: the fixed EV network."""
    return ev_spec()


@pytest.fixture
def ev(chaos_scenario: Callable[..., object]) -> Callable[..., object]:
    """``ev(test, seed=None, cluster=None, **ev_spec_options) -> EvScenario``: an EV scenario with its
    driver clients, on ``infra`` (or the ``cluster`` given, e.g. ``infra3``). ``test`` is a name, or
    a ``TestMap`` that says the scenario's workload, nemesis, checks and seed in one place."""
    from scenarios.ev import EvScenario

    def make(
        test: TestMap | str | None = None, seed: int | None = None, cluster: object = None, **options: Any
    ) -> EvScenario:
        spec = ev_spec(**options)
        scenario = chaos_scenario(test, spec=spec, seed=seed, cluster=cluster)
        return EvScenario(scenario)  # type: ignore[arg-type]

    return make
