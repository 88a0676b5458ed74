"""Seeded random fault schedules while drivers keep charging.

Each seed gives one schedule (kinds, targets, durations, gaps), always ending with a heal and a
quiet period. ``--chaos-seeds N`` runs seeds 0..N-1 (5 by default); a failure prints its seed and
schedule, and ``--chaos-seed S`` replays exactly that schedule. The scenario is one test map: the
seed is given once, and the nemesis is generated from it.
"""

from __future__ import annotations

import threading

import pytest

from chaos.core.testmap import TestMap
from chaos.nemesis import MenuItem, Schedule, generate
from scenarios.ev import EvScenario
from scenarios.flows import serve_and_check

pytestmark = pytest.mark.chaos

ROLES = ("driver", "central", "cp", "monitor")
MENU = [
    MenuItem("link-down", ROLES),
    MenuItem("latency", ROLES, {"latency": (100, 800), "jitter": (0, 200)}),
    MenuItem("reset_peer", ROLES, {"timeout": (200, 1000)}),
    MenuItem("kill", ("central", "cp-CP_001", "monitor-CP_002"), weight=0.5),
    MenuItem("pause", ("broker:1", "central"), weight=0.5),
]


def keep_charging(run: EvScenario, stop: threading.Event) -> None:
    """The workload: drivers take turns asking for any CP, each waiting for its previous charge to end."""
    turn = 0
    while not stop.is_set():
        driver = ("D1", "D2")[turn % 2]
        turn += 1
        charge = run.charge(driver)
        while not charge.done.is_set() and not stop.wait(0.2):
            pass


def random_faults(seed: int | None) -> Schedule:
    """The nemesis: 2 to 4 faults from the menu, 1-4 s each, then a 3 s quiet period."""
    return generate(seed or 0, MENU, faults=(2, 4), duration=(1.0, 4.0), gap=(0.5, 2.0), quiet=3.0,
                    name=f"random schedule seed {seed}")


@pytest.mark.chaos_long(20)
def test_random_schedule(ev, chaos_seed):
    run = ev(TestMap(f"random schedule seed {chaos_seed}", seed=chaos_seed, workload=keep_charging,
                     nemesis=random_faults))
    run.start()
    run.wait_cps()
    run.run()
    run.wait_cps(timeout=30)
    serve_and_check(run, run.charges[-1])
