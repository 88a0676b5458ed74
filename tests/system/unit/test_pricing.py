import pytest
from hypothesis import given
from hypothesis import strategies as st

from evcharge.cp.meter import Supply
from evcharge.pricing import cost_eur, energy_kwh


def test_cost_rounds_half_up_to_cents():
    assert cost_eur(10, 0.35) == 3.5
    assert cost_eur(0.05, 0.35) == 0.02  # 0.0175 -> 0.02
    assert cost_eur(0.0142857, 0.35) == 0.0  # 0.004999... -> 0.00
    assert cost_eur(0, 0.35) == 0.0


def test_cost_refuses_negative_input():
    with pytest.raises(ValueError):
        cost_eur(-1, 0.35)


@given(st.floats(0, 1000), st.floats(0, 5))
def test_cost_is_monotonic_in_energy(kwh, price):
    assert cost_eur(kwh, price) <= cost_eur(kwh + 1, price)


def test_energy_of_22_kw_for_an_hour():
    assert energy_kwh(22, 3600) == pytest.approx(22)


def test_supply_meters_ticks_and_stops_at_its_duration():
    supply = Supply("s1", "D1", 0.5, power_kw=36, started=100.0, duration_s=10)
    supply.tick(105.0)
    assert supply.kwh == pytest.approx(0.05)
    supply.tick(200.0)  # long after the end: only 10 s were supplied
    assert supply.kwh == pytest.approx(0.1)
    assert supply.done(110.0)
    assert supply.eur == 0.05
    assert supply.elapsed(500.0) == 10
