"""Cinema seat holds under faults: the system's spec and three scenarios, in 50 lines."""
import sys
from pathlib import Path

import pytest
from seats_client import SeatsClient

from chaos.core.spec import InvariantSpec, ProbeSpec, ServiceSpec, SystemSpec
from chaos.core.testmap import TestMap
from chaos.infra.ports import free_ports
from chaos.infra.principals import Grant
from chaos.nemesis import ScheduleBuilder
from chaos.workload import ClosedLoop, Invocation, Workload

HERE, TTL, P = Path(__file__).resolve().parent, 2.0, "{topic_prefix}"
ENV = {"SEATS_BOOTSTRAP": "{bootstrap}", "SEATS_TOPIC_PREFIX": P, "SEATS_GROUP": P + "{service}",
       "SEATS_KAFKA_USER": "{kafka_user}", "SEATS_KAFKA_PASSWORD": "{kafka_password}"}
SHOPPERS = Workload([f"shopper-{n}" for n in range(4)], {"hold": 5, "book": 1}, [f"A{n}" for n in range(99)], (.2, .6))
SCENARIOS = {"api before Kafka": ("before-kafka", "api", ["booker"]), "booker link cut": ("link-down", "booker", []),
             "broker killed": ("kill", "broker:1", [])}  # name: the fault, its target, what is started before it

def seats_spec(expiry: bool = True) -> SystemSpec:  # expiry=False: the booker never expires holds (a broken variant)
    def service(name: str, args: list[str], reads: str, writes: str, ready: str) -> ServiceSpec:  # role, topics
        grants = [Grant(op, "topic", P + t) for t, do in ((reads, "read"), (writes, "write")) for op in (do, "create")]
        return ServiceSpec(name, [sys.executable, str(HERE / f"seats_{name}.py"), *args], role=name, env=ENV,
                           ready=ready, grants=[*grants, Grant("read", "group", P + "{service}")])
    return SystemSpec("seats" if expiry else "seats-no-expiry", [
        service("booker", ["--db", "{db}", "--ttl", str(TTL) if expiry else "off"], "requests", "replies",
                "group {topic_prefix}booker"),  # ready: in its group with the requests partition assigned
        service("api", ["--port", "{port}"], "replies", "requests", "http GET http://127.0.0.1:{port}/health"),
    ], ProbeSpec(query="SELECT seat || '/' || id, state FROM holds"), consumes=["requests"],  # a hold, a resource
        invariants=InvariantSpec(transient_limits={"held": TTL + 1}, request_deadline=6, recovery_within=15),
        checks=["transient-state-limit", "request-deadline", "recovery", "services-alive", "consumers-keep-up"])

def perform(run, op: Invocation) -> None:  # hold a seat ("book": then confirm the hold), recorded as answered
    api = SeatsClient(int(run.system.values["port"]))
    with run.op(op.client, "hold", resource=op.target) as recorded:
        held = api.hold(str(op.target)).record(recorded)
    if op.f == "book" and held.status == 201:
        with run.op(op.client, "confirm", resource=op.target) as recorded:
            api.confirm(held.body["hold"]).record(recorded)

@pytest.mark.parametrize(("kind", "target", "first"), SCENARIOS.values(), ids=SCENARIOS)  # 5 s fault 2 s in, 6 s quiet
def test_seats_under_faults(chaos_scenario, chaos_spec, kind: str, target: str, first: list[str]) -> None:
    faults = ScheduleBuilder().wait(0 if first else 2).fault(kind, target, 5).quiet(6).build()
    run = chaos_scenario(TestMap(f"{chaos_spec.name}: {target} {kind}", 1, ClosedLoop(SHOPPERS, perform), faults),
                         port=str(free_ports(1)[0]))
    run.start(*first)  # a start order's fault comes at once: its target is what is not started here
    run.run()  # the shoppers beside the faults, then 6 s of quiet after the heal (a lone broker returns in ~30 s)
    run.assert_invariants()
