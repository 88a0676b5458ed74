"""The contention workload: many drivers on few CPs, so requests for the same CP, and for "any CP",
land in one of Central's batches; charges of different lengths, stops mid-charge, cancels.

The workload is data (``chaos.workload.Workload``); ``perform`` is the EV network's half: how one
drawn operation is carried out through a driver's API and recorded (each charge is one ``charge``
operation, each stop one ``stop``; see ``scenarios.ev.charge``).
"""

from __future__ import annotations

from chaos.workload import ClosedLoop, Invocation, Workload
from scenarios.ev.scenario import EvScenario

DRIVERS = 20
CPS = 3
LENGTH = (0.2, 1.2)
"""Seconds of energy a charge asks for: short ones and longer ones, drawn per charge."""
STOP_AFTER = (0.1, 0.6)
"""Seconds into a charge at which a driver that stops mid-charge asks to stop."""
POLL = 0.15
"""Seconds between two questions to a driver about its charge: 20 drivers asking every 50 ms cost
more CPU than the network they test; every fact the checks need comes from Central's records and
the topics anyway, at their own times."""
FOLLOW = 30.0
"""Seconds a client waits for one of its charges to end: the request deadline the network promises
(``EV_RULES.request_deadline``). Waiting longer let a driver's own 60 s safety deadline tidy up what
the run should have judged (a driver still "charging" long after its ticket)."""


def contention(drivers: int = DRIVERS, cps: int = CPS, duration: float | None = None) -> Workload:
    """``drivers`` drivers charging at ``cps`` CPs or at any, stopping or cancelling now and then."""
    targets: tuple[str | None, ...] = (*[f"CP_{n:03d}" for n in range(1, cps + 1)], None)
    return Workload(
        clients=tuple(f"D{n}" for n in range(1, drivers + 1)),
        mix={"charge": 6, "stop-mid-charge": 2, "cancel": 1},
        targets=targets, think=(0.0, 0.3), duration=duration,
        params={"length": LENGTH, "stop_after": STOP_AFTER},
    )


def perform(run: EvScenario, op: Invocation) -> None:
    """Carry out one drawn operation through the driver ``op.client`` and wait until it ends."""
    length = op.rng.uniform(*op.params["length"])
    if op.f == "charge":
        charge = run.charge(op.client, op.target, duration_s=length, poll=POLL)
    elif op.f == "stop-mid-charge":
        charge = run.charge(op.client, op.target, duration_s=length + 2.0, poll=POLL)
        if charge.wait_quietly({"charging"}, FOLLOW):
            charge.done.wait(op.rng.uniform(*op.params["stop_after"]))  # think time inside the charge
            charge.stop()
    elif op.f == "cancel":
        charge = run.charge(op.client, op.target, duration_s=length, poll=POLL)
        charge.stop()
    else:
        raise ValueError(f"the EV network has no operation {op.f!r}; it has charge, stop-mid-charge, cancel")
    charge.done.wait(FOLLOW)


def contention_loop(drivers: int = DRIVERS, cps: int = CPS) -> ClosedLoop:
    """The contention workload as a test map's workload (seeded by the map)."""
    return ClosedLoop(contention(drivers, cps), perform)
