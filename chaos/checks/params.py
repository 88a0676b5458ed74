"""What the checks hold a system to: the one parameter object every check reads.

A system's spec fills it in (its transient states and their limits, its request deadline, which
operations are requests, how allocations and sessions show up in the history); the harness records
it in the history's ``meta`` line, so ``evchaos check HISTORY`` judges a saved run by the same rules
without the spec. Nothing here names a particular system: the defaults are generic words that a
spec overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

RETIRED = frozenset({"seed"})
"""Fields older histories recorded that are no longer rules; read and ignored."""


@dataclass(frozen=True)
class InvariantSpec:
    """The rules and their limits; ``None`` for a limit switches that check's failure off.

    - ``transient_limits``: state -> seconds a resource may stay in it (e.g. ``{"reserved": 15}``).
    - ``transient_paused_by``: state -> fault windows that stop that state's clock, each a target
      prefix (``"broker:"``: any kind) or ``"kind@prefix"`` (``"kill@central"``). A state only a
      message can end cannot end while the message path itself is down; a state its system ends by
      a timer (a reservation's TTL) cannot end while the process keeping the timer is dead, so it
      lists that process's kills and pauses, never its link cuts.
    - ``request_deadline``: seconds within which every request must end ok or with a clear fail.
    - ``request_ops``: operation names (``f``) that are requests; empty means every operation.
    - ``recovery_within``: after the last heal, a fresh request must succeed within this many seconds.
    - ``fresh_request_ops``: which operations count as fresh requests; empty means ``request_ops``.
    - Allocation: ok operations named in ``acquire_ops`` / ``release_ops``, or events of type
      ``acquire_event`` / ``release_event``, carrying ``resource`` and ``holder_field``.
    - Sessions: events of type ``session_end_event`` or ok operations in ``session_end_ops`` finish a
      session; events of type ``ticket_event`` or ok operations in ``ticket_ops`` are its tickets;
      both carry ``session_field``.

    - Conservation: per session, the largest ``quantity_field`` of the ``quantity_sources`` events
      (what the source metered) must equal each ``quantity_sinks`` event's (what was billed) within
      ``quantity_tolerance`` (None: off); where a sink carries ``rate_field``, its ``amount_field``
      must be quantity x rate rounded half-up to ``amount_places`` decimals.
    - No lost acknowledged message: ``reflections`` maps an event (a fact the system sent and Kafka
      acknowledged) to ``{"key": field, "by": [events]}``, the events that show it took effect (or was
      answered); each must have one with the same key within ``reflection_within`` seconds (one the
      history ends without counts once ``reflection_settle`` s of quiet have passed since it was sent).
    - Exactly once: every finished session has exactly one distinct ``effect_id_field`` among each
      of the ``effect_events`` (a ticket in the database, a ticket sent), and clients saw at most one.
    - Allocation, the clients' side: an ok operation in ``told_ops`` tells its client it holds
      ``resource`` under ``session_field``; the system must have granted exactly that, to it alone.
    - Agreement: the last ``view_event`` lists each party's view of who holds what; they must agree.

    The seed is not a rule: it lives in the history's meta line (the scenario's test map gives it).
    """

    transient_limits: Mapping[str, float] = field(default_factory=dict)
    transient_paused_by: Mapping[str, Any] = field(default_factory=dict)
    request_deadline: float | None = 30.0
    request_ops: frozenset[str] = frozenset()
    recovery_within: float | None = 60.0
    fresh_request_ops: frozenset[str] = frozenset()
    acquire_ops: frozenset[str] = frozenset({"acquire"})
    release_ops: frozenset[str] = frozenset({"release"})
    acquire_event: str = "acquired"
    release_event: str = "released"
    holder_field: str = "holder"
    session_end_event: str = "session_end"
    session_end_ops: frozenset[str] = frozenset()
    ticket_event: str = "ticket"
    ticket_ops: frozenset[str] = frozenset()
    session_field: str = "session"
    quantity_sources: frozenset[str] = frozenset()
    quantity_sinks: frozenset[str] = frozenset()
    quantity_field: str = "quantity"
    quantity_tolerance: float | None = None
    amount_field: str = "amount"
    rate_field: str = "rate"
    amount_places: int = 2
    reflections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    reflection_within: float | None = 30.0
    reflection_settle: float | None = None
    """A message still unreflected when the history ends counts as lost, though younger than
    ``reflection_within``, once this many seconds have passed since it was sent and since the last
    fault ended (None: only ``reflection_within`` counts)."""
    effect_events: frozenset[str] = frozenset()
    effect_id_field: str = "ticket"
    view_event: str = "views"
    told_ops: frozenset[str] = frozenset()

    def is_request(self, f: str) -> bool:
        return not self.request_ops or f in self.request_ops

    def is_fresh_request(self, f: str) -> bool:
        return f in self.fresh_request_ops if self.fresh_request_ops else self.is_request(f)

    def with_overrides(self, **changes: Any) -> InvariantSpec:
        """A copy with some fields changed; ``transient_limits`` entries are merged, not replaced."""
        if "transient_limits" in changes:
            changes["transient_limits"] = {**self.transient_limits, **changes["transient_limits"]}
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (sets become sorted lists), for the history's ``meta`` line."""
        raw = asdict(self)
        raw["transient_limits"] = dict(self.transient_limits)
        raw["reflections"] = {event: dict(rule) for event, rule in self.reflections.items()}
        raw["transient_paused_by"] = {state: list(targets) for state, targets in self.transient_paused_by.items()}
        return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in raw.items()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> InvariantSpec:
        """The inverse of ``to_dict``; unknown keys are an error naming the known ones."""
        known = {f.name: f for f in fields(cls)}
        raw = {k: v for k, v in raw.items() if k not in RETIRED}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(
                f"unknown invariant field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, list):
                value = frozenset(value)
            elif key == "transient_limits":
                value = {str(state): float(limit) for state, limit in value.items()}
            values[key] = value
        return cls(**values)
