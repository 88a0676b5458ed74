"""Scenario flows shared by the suites and by the harness's own proof test.

Each flow is one story told the same way every time: set up, fault at a precise moment, heal,
then check that a fresh request is served and every invariant held (``EvScenario.finish``).
"""

from __future__ import annotations

import time

from scenarios.ev import Charge, EvScenario

ROLE_SERVICES = {
    "central": ("central",),
    "cp": ("cp-CP_001", "cp-CP_002"),
    "monitor": ("monitor-CP_001", "monitor-CP_002"),
    "driver": ("driver-D1", "driver-D2"),
}


def served_or_stuck(run: EvScenario, charge: Charge, cp: str, limit: float) -> bool:
    """True once the charge runs, or once ``cp`` has been ``reserved`` for longer than ``limit``
    (long enough for the checks to see a stuck reservation, without waiting for ever)."""
    if set(charge.seen) & {"charging", "completed"} or charge.done.is_set():
        return True
    since = reserved_since(run, cp)
    return since is not None and run.history.clock.now() - since > limit


def reserved_since(run: EvScenario, cp: str) -> float | None:
    """When ``cp`` last entered ``reserved`` according to the sampled states (None if it is not in it)."""
    since = None
    for event in run.history.events:
        if event["type"] == "state" and cp in event["states"]:
            state = event["states"][cp]
            since = (since if since is not None else event["t"]) if state == "reserved" else None
    return since


def start_before_kafka(run: EvScenario, role: str | None, lead: float, cp: str = "CP_001") -> Charge:
    """Start ``role``'s services (``None``: everything) ``lead`` seconds before Kafka is there for them.

    For one role, its proxies are down while it starts (Kafka is up, but not for it); for ``None``,
    every broker is stopped while the whole network starts. A charge is requested at once, while
    Kafka is away; it must end served once Kafka arrives.
    """
    late = ROLE_SERVICES[role] if role else tuple(s.name for s in run.scenario.spec.services)
    early = [s.name for s in run.scenario.spec.services if s.name not in late]
    if early:
        run.start(*early)
    kind, target = ("link-down", role) if role else ("kill", "broker:all")
    label = f"{role or 'kafka'} {lead:g} s before kafka"
    with run.fault(kind, target):
        run.history.note(label)
        run.start(*late)
        charge = run.charge("D1", cp)
        run.wait_for(f"{lead:g} s with Kafka away", lambda: held_since(run, charge, lead), lead + 10)
    return charge


def serve_and_check(run: EvScenario, charge: Charge, cp: str = "CP_001", timeout: float = 45.0) -> None:
    """After the heal: the charge is served (or its CP visibly stuck), a fresh one is served, all checks hold.

    The fresh request goes out at once, beside the charge that lived through the fault: time to
    recovery is then heal -> served, not heal -> the old charge's end -> served.
    """
    limit = run.scenario.invariants.transient_limits.get("reserved", 10.0)
    fresh = run.fresh_charge(wait=False)
    run.wait_for("the charge served, or its CP stuck", lambda: served_or_stuck(run, charge, cp, limit + 1), timeout)
    run.ask_again_while_denied(fresh)
    run.finish()


HOLD = 3.0
"""Seconds a cut lasts in the link-cut suites: longer than a reconnect backoff, shorter than the TTL."""

STEPS = ("before-request", "at-reservation", "at-authorization", "during-telemetry", "before-ticket")


def cut_at_step(run: EvScenario, role: str, step: str, hold: float = HOLD) -> Charge:
    """Cut ``role``'s links at one step of a charge's flow, hold, heal; return the charge.

    For the driver, *at-reservation* is made exact with an asymmetric toxic, because Central answers
    within milliseconds: only what comes down to the driver is stalled, so its request reaches
    Central (the CP is reserved) but the authorization cannot reach the driver. Every other step cuts
    the link outright when the step is observed (in Central's database or the driver's own report),
    which is as close as an outside observer gets: *at-authorization* then usually lands just after
    ``charging_started`` left. The seed's exact spot (authorized, but no producer to say so) is the
    driver-before-Kafka story (``start_before_kafka``), where the driver has no connection at all.
    """
    if role == "driver" and step == "at-reservation":
        with run.fault("timeout", "driver", {"timeout": 0, "stream": "downstream"}):
            charge = run.charge("D1", "CP_001")
            run.wait_cp("CP_001", "reserved", 15)
            run.wait_for("the cut held", lambda: held_since(run, charge, hold), hold + 5)
        return charge
    if step == "before-request":
        with run.fault("link-down", role):
            charge = run.charge("D1", "CP_001")
            run.wait_for("the cut held", lambda: held_since(run, charge, hold), hold + 5)
        return charge
    charge = run.charge("D1", "CP_001")
    if step == "at-reservation":
        run.wait_for("CP_001 reserved or beyond", lambda: run.states().get("CP_001") in ("reserved", "charging"), 15)
    elif step == "at-authorization":
        charge.wait({"authorized", "charging"}, 15)
    elif step == "during-telemetry":
        run.wait_for("telemetry at the driver", lambda: bool(charge.snapshot.get("telemetry")), 15)
    elif step == "before-ticket":
        charge.wait({"charging"}, 15)
    else:
        raise ValueError(f"unknown step {step!r}; steps: {', '.join(STEPS)}")
    with run.fault("link-down", role):
        started = run.history.clock.now()
        run.wait_for("the cut held", lambda: run.history.clock.now() - started > hold, hold + 5)
    return charge


def cut_when_due(run: EvScenario, role: str, hold: float = HOLD) -> Charge:
    """Stall only what ``role`` sends (a one-way cut), exactly when a charge's completion is due.

    The charge is one under way with its end still ahead: the driver's own record says when it began
    charging, and its length is known, so its completion is due at their sum (the engine began a
    moment earlier still). The cut is put in place 50 ms before that, held ``hold`` s, then healed.
    """

    def due() -> tuple[Charge, float] | None:
        for charge in list(run.charges):
            began = next((t for t, state in charge.snapshot.get("history") or [] if state == "charging"), None)
            if began is None or not charge.duration_s or charge.done.is_set():
                continue
            if began + charge.duration_s - time.time() > 0.2:
                return charge, began + charge.duration_s
        return None

    charge, end = run.wait_for("a charge under way with its completion still ahead", due, 30)
    cp = charge.snapshot.get("cp_id")
    run.history.note(f"{role} sends stalled at the completion of {charge.request_id}", resource=cp)
    run.wait_for("its completion due", lambda: time.time() >= end - 0.05, (charge.duration_s or 0) + 5)
    with run.fault("timeout", role, {"timeout": 0, "stream": "upstream"}):
        started = run.history.clock.now()
        run.wait_for("the cut held", lambda: run.history.clock.now() - started > hold, hold + 5)
    return charge


def supplying(run: EvScenario, driver: str = "D1", cp: str = "CP_001") -> Charge:
    """Start the network and a charge, and wait until the engine supplies it (its telemetry reached
    the driver), not only until Central booked it: a fault meant for a charge under way lands on one."""
    run.start()
    run.wait_cps()
    charge = run.charge(driver, cp)
    charge.wait({"charging"}, 15)
    run.wait_for("some energy metered", lambda: (charge.snapshot.get("telemetry") or {}).get("kwh", 0) > 0, 10)
    return charge


def held_since(run: EvScenario, charge: Charge, hold: float) -> bool:
    """True once ``hold`` seconds have passed since the charge was requested."""
    return charge.invoked_t is not None and run.history.clock.now() - charge.invoked_t > hold
