"""Root fixtures: the EV charging network wired to the harness.

The generic fixtures (``infra``, ``infra3``, ``topic_prefix``, ``chaos_scenario``, ``chaos_seed``)
come from the ``evchaos`` pytest plugin (``chaos/pytest_plugin.py``), installed with the package.
This file wires our system in: ``chaos_spec`` is the EV network's system-under-test spec (built by
``scenarios/ev_spec.py``: which processes, which Kafka role each uses, how to tell it is ready, how
to read CP states, which invariants hold), and ``ev`` starts an EV scenario with its driver clients
(``scenarios/ev.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chaos.core.spec import SystemSpec
from scenarios.ev_spec import ev_spec


@pytest.fixture
def chaos_spec() -> SystemSpec:
    """The default system under test for ``chaos_scenario``: the fixed EV network."""
    return ev_spec()


@pytest.fixture
def ev(chaos_scenario: Callable[..., object]) -> Callable[..., object]:
    """``ev(name, seed=None, cluster=None, **ev_spec_options) -> EvScenario``: an EV scenario with its
    driver clients, on ``infra`` (or the ``cluster`` given, e.g. ``infra3``)."""
    from scenarios.ev import EvScenario

    def make(name: str | None = None, seed: int | None = None, cluster: object = None, **options: object) -> EvScenario:
        spec = ev_spec(**options)  # type: ignore[arg-type]
        return EvScenario(chaos_scenario(name, spec=spec, seed=seed, cluster=cluster))  # type: ignore[operator]

    return make
