"""Metering of one supply, independent of Kafka and of wall-clock jumps (monotonic time).

Kept apart from the engine so that pricing and energy can be tested without threads or sockets.
"""

from __future__ import annotations

from dataclasses import dataclass

from evcharge.pricing import cost_eur, energy_kwh


@dataclass
class Supply:
    """A running supply: ``tick`` adds the energy delivered since the previous tick."""

    session_id: str
    driver_id: str
    price_eur_kwh: float
    power_kw: float
    started: float
    duration_s: float | None
    kwh: float = 0.0
    _last: float | None = None

    def tick(self, now: float) -> None:
        last = self.started if self._last is None else self._last
        end = now if self.duration_s is None else min(now, self.started + self.duration_s)
        if end > last:
            self.kwh += energy_kwh(self.power_kw, end - last)
        self._last = max(last, end)

    def done(self, now: float) -> bool:
        return self.duration_s is not None and now >= self.started + self.duration_s

    def remaining(self, now: float) -> float:
        """Seconds until the supply is done (infinite for an open-ended one)."""
        return float("inf") if self.duration_s is None else max(0.0, self.started + self.duration_s - now)

    def elapsed(self, now: float) -> float:
        return (now if self.duration_s is None else min(now, self.started + self.duration_s)) - self.started

    @property
    def eur(self) -> float:
        return cost_eur(round(self.kwh, 6), self.price_eur_kwh)
