"""Forged messages on every topic the network consumes, while a charge is live: none is believed.

The forgeries (``scenarios/ev/forgeries.py``) try every message type each consumer acts on, each
claiming an identity it cannot prove: a driver charging on another's account or stopping another's
live session, an engine billing another CP's session, a CP reported faulty, a fake CP registering,
every CP stopped, an engine told to supply a session Central never made, a driver sent a ticket.
They go in while D1 is charging on CP_001, one topic after another, each window lasting until every
consumer has moved past them. Then D1 stops its own charge, which must be billed as metered, and
a fresh request must be served. Judged by ``nothing-believed`` (no state changed in a window), ``rejected-records-dead-lettered``
and ``forgeries-audited`` (each forgery refused, dead-lettered and in an audit log), with the usual rules.
"""

from __future__ import annotations

import pytest

from scenarios.ev_spec import CONSUMED_TOPICS

pytestmark = pytest.mark.chaos

CHARGE_S = 40.0
"""The CPs' charge length: longer than the six windows take, so the charge is live through all of
them (D1 stops it itself afterwards, and a charge that outlived its limit would be a failure)."""


def test_no_forged_message_is_believed_during_a_live_charge(ev):
    run = ev("forged messages during a live charge", charge_duration=CHARGE_S)
    run.start()
    run.ready(warm=True)
    charge = run.charge("D1", "CP_001")
    charge.wait({"charging"}, 30)
    for topic in CONSUMED_TOPICS:
        with run.fault("inject-forged", topic) as fault:
            run.scenario.wait_consumed(fault)
    charge.stop()
    charge.wait({"completed"}, 30)
    run.ask_again_while_denied(run.fresh_charge(wait=False))  # and the network still serves
    run.finish()
