"""The EV network's forgeries are worth sending: each decodes (so it reaches the gate, not the
parser), each is refused by the gate of the component that reads it, and together they try every
message type the network's consumers act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from evcharge.auth.claims import SENDERS
from evcharge.auth.component import ComponentAuth
from evcharge.auth.keys import KeyFile
from evcharge.central.auth import CentralAuth
from evcharge.messages import Topics, decode
from evcharge.registry.store import RegistryView
from scenarios.ev.enrolment import enrol
from scenarios.ev.forgeries import BODIES, INSIDER_CP, INSIDER_DRIVER, VICTIM_CP, VICTIM_DRIVER, Live, forge
from scenarios.ev_spec import CONSUMED_TOPICS

NOBODY_READS = {"dead_letter", "command_result"}
"""Types no consumer of the network acts on (people and the harness read them)."""


@pytest.fixture
def network(tmp_path: Path) -> dict[str, str]:
    enrol([("cp", VICTIM_CP), ("cp", INSIDER_CP), ("driver", VICTIM_DRIVER), ("driver", INSIDER_DRIVER)])(
        {"workdir": str(tmp_path)})
    return {"workdir": str(tmp_path), "db": str(tmp_path / "none.db")}


def test_every_message_type_a_consumer_acts_on_is_forged():
    forged = {type(body).__name__ for make in BODIES.values() for body in make(Live())}
    from evcharge.messages import PAYLOADS

    wanted = {PAYLOADS[kind].__name__ for kind in SENDERS} - {PAYLOADS[kind].__name__ for kind in NOBODY_READS}
    assert wanted <= forged, f"not forged: {sorted(wanted - forged)}"
    assert set(BODIES) == set(CONSUMED_TOPICS)


@pytest.mark.parametrize("topic", CONSUMED_TOPICS)
def test_each_forgery_is_refused_by_the_gate_that_reads_it(network, topic):
    workdir = Path(network["workdir"])
    if topic == Topics.CP_COMMANDS:
        gate = ComponentAuth(KeyFile(workdir / "keys" / f"cp-{VICTIM_CP}.key")).gate()
    elif Topics.driver_of(topic):
        gate = ComponentAuth(KeyFile(workdir / "keys" / f"driver-{VICTIM_DRIVER}.key")).gate()
    else:
        gate = CentralAuth(RegistryView(workdir / "registry.db")).gate
    assert gate is not None
    made = forge(network, topic)
    assert len(made) == 4 * len(BODIES[topic](Live()))  # four liars per body
    for raw, note in made:
        reason = gate.refusal(raw, decode(raw))
        assert reason, f"believed: {note}"
