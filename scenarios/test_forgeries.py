"""Forged messages on every topic the network consumes, while a charge is live: none is believed.

The forgeries (``scenarios/ev/forgeries.py``) try every message type each consumer acts on, each
claiming an identity it cannot prove: a driver charging on another's account or stopping another's
live session, an engine billing another CP's session, a CP reported faulty, a fake CP registering,
every CP stopped, an engine told to supply a session Central never made, a driver sent a ticket.
They go in while D1 is charging on CP_001, one topic after another, each window lasting until every
consumer has moved past them. Then D1 stops its own charge, which must be billed as metered, and
a fresh request must be served. Judged by ``nothing-believed`` (no state changed in a window),
``rejected-records-dead-lettered`` and ``forgeries-audited`` (each forgery refused, dead-lettered
and in an audit log), with the usual rules.
"""

from __future__ import annotations

import pytest

from chaos.infra import records
from chaos.infra.endpoints import KafkaAccess
from evcharge.messages import Topics
from scenarios.ev.forgeries import attempt_read
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


def test_a_driver_reads_its_own_events_and_nothing_else(ev):
    """With D2's own Kafka principal, as a curious driver would: D1's events (its answers, its
    tickets), the engines' commands and every driver's requests are refused by the broker; D2's own
    events are not. Needs a secured cluster (``make chaos`` runs secured)."""
    run = ev("a driver reads only its own events")
    if not run.scenario.infra.endpoints.secured:
        pytest.skip("needs a secured cluster: run with --chaos-security sasl (make chaos does)")
    run.start()
    run.ready(warm=True)
    run.charge("D1", "CP_001").wait({"completed"}, 30)  # D1's topic now holds its answers and its ticket
    credentials = run.scenario.system.credentials["driver-D2"]
    access = KafkaAccess(run.scenario.infra.endpoints.bootstrap("driver"), credentials.client_settings())
    prefix = run.scenario.topic_prefix
    tried = {topic: attempt_read(access, prefix + topic)
             for topic in (Topics.driver_events("D1"), Topics.CP_COMMANDS, Topics.DRIVER_REQUESTS,
                           Topics.driver_events("D2"))}
    run.history.note("reads as driver-D2", **tried)
    harness = run.scenario.infra.endpoints.harness_access()
    held = {topic: len(records.read_all(harness, prefix + topic)) for topic in tried}
    assert all(held.values()), f"every topic tried holds records (as the harness reads them): {held}"
    refused = {topic: outcome for topic, outcome in tried.items() if outcome.startswith("refused")}
    assert set(refused) == {Topics.driver_events("D1"), Topics.CP_COMMANDS, Topics.DRIVER_REQUESTS}, tried
    run.ask_again_while_denied(run.fresh_charge(wait=False))
    run.finish()
