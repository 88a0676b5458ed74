"""What a source measured is what its sinks report: nothing metered goes unbilled, nothing unmetered is billed.

Per session (``session_field``), the source's reading is the largest ``quantity_field`` among its
``quantity_sources`` events (a meter only counts up: its last telemetry or its final report), and
every ``quantity_sinks`` event for that session (the system's record of the bill, what it told the
client) must carry the same quantity within ``quantity_tolerance`` (one metering tick: a session its
source could not report to the end is billed its last reading). A sink that also carries a rate
must charge exactly quantity x rate, rounded half-up. And a source may only meter inside a session
the system granted: a reading for a session the system never had is supplied outside any session,
and a reading that goes back down is a second supply of the same session (a redelivered order).

Judging every sink separately is what catches a bill that differs from what the client was told,
not only one that differs from the meter. A bill the system amended (the same ``effect_id_field``,
sent or read again later: a reading that came after the bill) is judged as it finally stands, by
its last version in each sink.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import Marker, Op, markers, missing_evidence
from chaos.core.history import History


def number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def charged(quantity: float, rate: float, places: int) -> float | None:
    """quantity x rate rounded half-up to ``places`` decimals, computed exactly (Decimal from the text)."""
    try:
        exact = Decimal(str(quantity)) * Decimal(str(rate))
        return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None


def sink_name(marker: Marker) -> str:
    """``db_ticket (central db)``: the event type and, if it says so, where it was read."""
    where = marker.get("source")
    kind = marker.source.f if isinstance(marker.source, Op) else marker.source.get("type")
    return f"{kind} ({where})" if where else str(kind)


def standing(found: list[Marker], id_field: str | None) -> list[Marker]:
    """Each bill once per sink, as it last stood: of the markers of one sink carrying the same id,
    the last in time (an amendment); markers without an id are each their own bill."""
    latest: dict[tuple[str, str], Marker] = {}
    kept: list[Marker] = []
    for marker in found:  # in time order
        ident = marker.get(id_field) if id_field else None
        if ident is None:
            kept.append(marker)
        else:
            latest[(sink_name(marker), str(ident))] = marker
    return sorted([*kept, *latest.values()], key=lambda m: m.t)


@register
class Conservation:
    name = "conservation"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        if params.quantity_tolerance is None or not params.quantity_sources or not params.quantity_sinks:
            return [judge.passed("no conserved quantity declared; nothing to check")]
        missing = missing_evidence(history, "facts")
        if missing:
            return [judge.failed(f"the source readings could not be gathered ({missing})", None, history.end,
                                 when="at")]
        key, field, tolerance = params.session_field, params.quantity_field, params.quantity_tolerance
        source: dict[str, tuple[float, Marker]] = {}
        failures: list[Verdict] = []
        twice: set[str] = set()  # sessions already reported metered twice (once each)
        for marker in markers(history, params.quantity_sources, ()):
            session, quantity = marker.get(key), number(marker.get(field))
            if session is None or quantity is None:
                continue
            best = source.get(str(session))
            if best is not None and quantity < best[0] - tolerance and str(session) not in twice:
                twice.add(str(session))
                resource = marker.get("resource")
                failures.append(judge.failed(
                    f"session {session} was metered twice: its reading went back from {best[0]:.6g} to "
                    f"{quantity:.6g} (a meter only counts up; the source supplied the session again)",
                    None if resource is None else str(resource), marker.t, when="at"))
            if best is None or quantity > best[0]:
                source[str(session)] = (quantity, marker)
        granted = {str(m.get(key)) for m in markers(history, [params.acquire_event], params.acquire_ops)
                   if m.get(key) is not None}
        billed = 0
        for marker in standing(markers(history, params.quantity_sinks, ()), params.effect_id_field):
            session, quantity = marker.get(key), number(marker.get(field))
            if session is None or quantity is None:
                continue
            billed += 1
            sink = sink_name(marker)
            resource = marker.get("resource")
            metered = source.get(str(session))
            measured = metered[0] if metered is not None else 0.0
            if abs(measured - quantity) > tolerance:
                failures.append(judge.failed(
                    f"session {session}: the source metered {measured:.6g} but {sink} says {quantity:.6g} "
                    f"(difference {abs(measured - quantity):.3g}, tolerance {tolerance:g})",
                    None if resource is None else str(resource), marker.t, when="at"))
            rate, amount = number(marker.get(params.rate_field)), number(marker.get(params.amount_field))
            if rate is not None and amount is not None:
                expected = charged(quantity, rate, params.amount_places)
                if expected is not None and abs(expected - amount) > 1e-9:
                    failures.append(judge.failed(
                        f"session {session}: {sink} charges {amount:g} for {quantity:.6g} at {rate:g} "
                        f"(exactly {expected:g})", None if resource is None else str(resource), marker.t, when="at"))
        if granted:
            for session, (quantity, marker) in sorted(source.items()):
                if session not in granted and quantity > tolerance:
                    resource = marker.get("resource")
                    failures.append(judge.failed(
                        f"{quantity:.6g} metered for session {session}, which the system never granted",
                        None if resource is None else str(resource), marker.first_t, when="at"))
        return judge.verdicts(failures, f"{billed} bills over {len(source)} metered sessions, each equal to "
                                        f"its source within {tolerance:g}")
