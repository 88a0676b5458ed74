"""The seat system wired to the harness: its spec is the default system under test, and the cluster
gets one listener and proxy per Kafka role the spec names (``--chaos-roles`` still wins)."""

import importlib.util

import pytest
from chaos_seats import seats_spec

from chaos.core.spec import SystemSpec
from chaos.pytest_plugin import roles_option

if importlib.util.find_spec("confluent_kafka") is None:  # else each service would die of it, one by one
    raise pytest.UsageError("examples/seats runs on confluent-kafka: pip install -r examples/seats/requirements.txt")


@pytest.fixture(scope="session")
def chaos_roles(pytestconfig: pytest.Config) -> tuple[str, ...]:
    return roles_option(pytestconfig) or seats_spec().roles


@pytest.fixture
def chaos_spec() -> SystemSpec:
    return seats_spec()
