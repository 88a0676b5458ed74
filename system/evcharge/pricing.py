"""What a charge costs. Money is computed in Decimal and rounded half-up to cents once, at the end,
so telemetry, tickets and tests agree to the cent whatever the float noise in kWh."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DEFAULT_PRICE_EUR_KWH = 0.35


def cost_eur(kwh: float, price_eur_kwh: float) -> float:
    """Price of ``kwh`` at ``price_eur_kwh``, rounded half-up to the cent."""
    if kwh < 0 or price_eur_kwh < 0:
        raise ValueError("energy and price must not be negative")
    amount = Decimal(str(kwh)) * Decimal(str(price_eur_kwh))
    return float(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def energy_kwh(power_kw: float, seconds: float) -> float:
    """Energy delivered at constant ``power_kw`` for ``seconds``."""
    return power_kw * seconds / 3600.0
