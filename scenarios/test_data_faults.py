"""Faults that provoke data bugs, under contention (20 drivers on 3 CPs): precise kills, redelivery,
repeated records, and a one-way cut timed to a message.

Each scenario is one test map: the contention workload, a nemesis of one family, the checks. The
data-plane checks (conservation, no lost acknowledged message, exactly-once, agreement at the end,
no double allocation) run in every scenario of every suite; these are the faults that make them
bite: Central killed between its database commit and its offset commit and the other way round,
Central and an engine made to read again what they already processed, the monitors cut off so that
Central closes sessions the engines are still supplying, duplicates and replays fed to Central's
inputs while it is busy, and the completion of a charge stalled on its way out.
"""

from __future__ import annotations

import pytest

from chaos.checks import check_names
from chaos.core.testmap import TestMap
from chaos.nemesis import ScheduleBuilder
from scenarios.ev.contention import CPS, DRIVERS, contention_loop
from scenarios.flows import HOLD, cut_when_due, serve_and_check

pytestmark = pytest.mark.chaos

NEMESES = {
    "precise kills and redelivery": ScheduleBuilder().wait(1.0)
    .fault("kill-at", "central", 0.5, {"point": "central.db-committed"}).wait(1.0)
    .fault("kill-at", "central", 0.5, {"point": "central.offsets-committed"}).wait(1.0)
    .fault("rewind", "central", 0.5, {"records": 40}).wait(1.0)
    .fault("rewind", "cp-CP_001", 0.5, {"records": 20}).quiet(2.0),
    "sessions closed by central": ScheduleBuilder().wait(1.0)
    .fault("link-down", "monitor", 5.0).quiet(2.0),
    "repeated records": ScheduleBuilder().wait(1.0)
    .fault("inject-duplicate", "driver-requests", 1.0).wait(1.0)
    .fault("inject-replay", "cp-events", 1.0).wait(0.5)
    .fault("inject-resent", "cp-events", 1.0).quiet(2.0),
}
BUSY = [name for name in check_names() if name != "nothing-believed"]
"""Every check but nothing-believed, which holds only while nothing else goes on (the message-fault
suite's idle network): under contention, states change because of the workload."""


@pytest.mark.chaos_long(20)
@pytest.mark.parametrize("family", sorted(NEMESES))
def test_data_faults_under_contention(ev, family):
    schedule = NEMESES[family].build()
    run = ev(TestMap(f"contention with {family}", seed=0, workload=contention_loop(),
                     nemesis=schedule, checks=BUSY), cps=CPS, drivers=DRIVERS)
    run.start()
    run.wait_cps()
    run.run()
    run.wait_cps(timeout=30)
    serve_and_check(run, run.charges[-1])


@pytest.mark.chaos_long(20)
def test_completion_stalled_one_way_under_contention(ev):
    """What the CPs send is stalled exactly when a charge's completion is due; what they receive is not."""
    run = ev(TestMap("contention with a one-way cut at a completion", seed=0, workload=contention_loop()),
             cps=CPS, drivers=DRIVERS)
    run.start()
    run.wait_cps()
    with run.playing():
        cut_when_due(run, "cp", HOLD)
        healed = run.history.clock.now()
        run.wait_for("2 s of quiet after the heal", lambda: run.history.clock.now() - healed > 2.0, 10)
    run.wait_cps(timeout=30)
    serve_and_check(run, run.charges[-1])
