"""Seeded random fault schedules under contention: 20 drivers on 3 CPs, charging, stopping, cancelling.

Each seed gives one schedule (kinds, targets, durations, gaps), always ending with a heal and a
quiet period; the contention workload (``scenarios.ev.contention``) plays beside it, drawn from the
same seed, so many requests for the same CP and for any CP meet in Central's batches while links
drop, processes die and brokers stall. ``--chaos-seeds N`` runs seeds 0..N-1 (5 by default); a
failure prints its seed and schedule, and ``--chaos-seed S`` replays exactly that schedule. The
scenario is one test map: the seed is given once; the nemesis and the workload are drawn from it.
"""

from __future__ import annotations

import pytest

from chaos.core.testmap import TestMap
from chaos.nemesis import MenuItem, Schedule, generate
from scenarios.ev.contention import CPS, DRIVERS, contention_loop
from scenarios.flows import serve_and_check

pytestmark = pytest.mark.chaos

ROLES = ("driver", "central", "cp", "monitor")
MENU = [
    MenuItem("link-down", ROLES),
    MenuItem("latency", ROLES, {"latency": (100, 800), "jitter": (0, 200)}),
    MenuItem("reset_peer", ROLES, {"timeout": (200, 1000)}),
    MenuItem("kill", ("central", "cp-CP_001", "monitor-CP_002"), weight=0.5),
    MenuItem("pause", ("broker:1", "central"), weight=0.5),
    MenuItem("kill-at", ("central",), {"point": ["central.db-committed", "central.offsets-committed"]}, weight=0.5),
    MenuItem("rewind", ("central", "cp-CP_001", "driver-D1"), {"records": (5, 40)}, weight=0.5),
]


def random_faults(seed: int | None) -> Schedule:
    """The nemesis: 2 to 4 faults from the menu, 1-4 s each, then a 3 s quiet period."""
    return generate(seed or 0, MENU, faults=(2, 4), duration=(1.0, 4.0), gap=(0.5, 2.0), quiet=3.0,
                    name=f"random schedule seed {seed}")


@pytest.mark.chaos_long(20)
def test_random_schedule(ev, chaos_seed):
    run = ev(TestMap(f"random schedule seed {chaos_seed}", seed=chaos_seed, workload=contention_loop(),
                     nemesis=random_faults), cps=CPS, drivers=DRIVERS)
    run.start()
    run.wait_cps()
    run.run()
    run.wait_cps(timeout=30)
    serve_and_check(run, run.charges[-1])
