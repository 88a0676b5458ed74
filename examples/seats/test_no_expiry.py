"""The checks can fail: with the booker's expiry off (``--ttl off``), the booker link cut scenario,
unchanged, must fail on the transient-state rule alone, naming a hold left held."""

import re

import pytest
from chaos_seats import SCENARIOS, seats_spec
from chaos_seats import test_seats_under_faults as scenario  # not named test_*: not collected twice

from chaos.core.scenario import ScenarioFailed
from chaos.core.spec import SystemSpec


@pytest.fixture
def chaos_spec() -> SystemSpec:
    return seats_spec(expiry=False)


def test_without_expiry_the_link_cut_leaves_seats_held(chaos_scenario, chaos_spec) -> None:
    with pytest.raises(ScenarioFailed) as failed:
        scenario(chaos_scenario, chaos_spec, *SCENARIOS["booker link cut"])
    message = str(failed.value)
    assert set(re.findall(r"^ +- \[([a-z-]+)", message, re.MULTILINE)) == {"transient-state-limit"}, message
    assert re.search(r"\] A\d+/[0-9a-f]+ held for [\d.]+ s and still in it at the end \(limit 3 s\)", message), message
