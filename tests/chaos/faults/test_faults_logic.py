"""Fault logic on an in-memory Toxiproxy and fake processes: grammar, errors, undo, idempotence."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import pytest
from fault_fakes import FakeInfra, FakeProcess, all_toxics

import chaos.faults.kinds
from chaos.core.history import History
from chaos.faults import BaseFault, FaultContext, FaultError, FaultSpecError, describe_kinds, fault_class, fault_kinds
from chaos.faults.network import ToxicFault, degraded_link_kinds
from chaos.infra.toxiproxy.client import Toxic, ToxiproxyError
from chaos.nemesis import ScheduleBuilder, ScheduleRunner

KINDS_FOLDER = Path(chaos.faults.kinds.__file__).parent


@pytest.fixture
def fake() -> FakeInfra:
    return FakeInfra(brokers=3)


@pytest.fixture
def ctx(fake: FakeInfra) -> FaultContext:
    return FaultContext(fake, services={"central": FakeProcess("central")}, roles={"central": "central"})


def test_every_file_in_the_kinds_folder_is_one_registered_kind() -> None:
    """Adding a fault is adding a file: each file defines one kind, and the registry lists exactly those."""
    defined: dict[str, list[str]] = {}
    for path in sorted(KINDS_FOLDER.glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module(f"chaos.faults.kinds.{path.stem}")
        defined[path.stem] = [
            cls.kind for cls in vars(module).values()
            if isinstance(cls, type) and issubclass(cls, BaseFault) and cls.__module__ == module.__name__
        ]
    assert all(len(kinds) == 1 for kinds in defined.values()), defined
    assert sorted(kind for kinds in defined.values() for kind in kinds) == fault_kinds()
    described = describe_kinds()
    assert set(described) == set(fault_kinds())
    assert all(described[kind].strip() for kind in described), "every kind says what it does"
    assert "latency (int" in described["latency"]


def test_lists_of_kinds_are_derived_from_the_registry() -> None:
    toxics = fault_kinds(of=ToxicFault)
    assert "latency" in toxics and "link-down" not in toxics and "kill" not in toxics
    suite = degraded_link_kinds()
    assert set(suite) <= set(toxics)
    for kind, params in suite.items():
        fault_class(kind)(FaultContext(FakeInfra()), "driver", params)  # the suite's parameters are valid


@pytest.mark.parametrize(
    ("kind", "target", "params", "message"),
    [
        ("latnecy", "driver", {}, "unknown fault kind 'latnecy'; known kinds: bandwidth, before-kafka"),
        ("latency", "Driver", {}, "bad link target 'Driver': use '<role>'"),
        ("latency", "driver@", {}, "bad link target 'driver@'"),
        ("latency", "cp", {}, "'cp': no such client role; roles: central, driver"),
        ("latency", "driver@9", {}, "link target driver@9: no broker 9; brokers: [1, 2, 3]"),
        ("latency", "", {}, "fault 'latency' needs a target"),
        ("latency", "driver", {"latncy": 5}, "fault 'latency' has no parameter 'latncy'; its parameters: latency"),
        ("latency", "driver", {"latency": "slow"}, "parameter 'latency' must be an integer, got 'slow'"),
        ("latency", "driver", {"latency": -1}, "parameter 'latency' is -1; it must satisfy 0 <= value"),
        ("latency", "driver", {"stream": "sideways"}, "must be one of downstream, upstream, both"),
        ("latency", "driver", {"toxicity": 1.5}, "'toxicity' is 1.5; it must satisfy 0 <= value <= 1"),
        ("restart", "broker:1", {"hard": "yes"}, "parameter 'hard' must be true or false"),
        ("kill", "broker:9", {}, "no broker 9; brokers: [1, 2, 3]"),
        ("kill", "broker:leader", {}, "bad broker target 'broker:leader': use 'broker:<id>'"),
        ("kill", "broker:leader:t:x", {}, "the partition must be a number"),
        ("kill", "driver", {}, "unknown process target 'driver': use a service name (central) or 'broker:<id>'"),
        ("before-kafka", "broker:1", {}, "the target must be a service name (central), not 'broker:1'"),
    ],
)
def test_bad_kinds_targets_and_params_say_what_is_allowed(ctx, kind, target, params, message) -> None:
    with pytest.raises(FaultSpecError) as error:
        ctx.make_fault(kind, target, params)
    assert message in str(error.value)


def test_a_minority_of_one_broker_is_refused() -> None:
    with pytest.raises(FaultSpecError, match="a minority of 1 broker"):
        FaultContext(FakeInfra(brokers=1)).make_fault("kill", "broker:minority", {})


def test_before_proxies_needs_to_know_the_role(fake) -> None:
    ctx = FaultContext(fake, services={"toy": FakeProcess("toy")})
    with pytest.raises(FaultSpecError, match="which Kafka role does it use"):
        ctx.make_fault("before-proxies", "toy", {})
    assert ctx.make_fault("before-proxies", "toy", {"role": "driver"}).name == "toy started before its proxies"


@pytest.mark.parametrize(
    ("kind", "target", "label"),
    [
        ("timeout", "driver", "driver link timeout"),
        ("latency", "driver@2", "driver->broker 2 link latency"),
        ("link-down", "central", "central link down"),
        ("kill", "broker:1", "broker 1 kill"),
        ("pause", "broker:leader:orders", "leader broker of orders-0 pause"),
        ("term", "broker:minority", "minority brokers term"),
        ("restart", "central", "central restart"),
        ("before-kafka", "central", "central started before Kafka"),
    ],
)
def test_faults_carry_a_human_label(ctx, kind, target, label) -> None:
    assert ctx.make_fault(kind, target, {}).name == label


def test_a_toxic_goes_on_each_proxy_and_stream_and_heal_removes_only_it(ctx, fake) -> None:
    fake.toxiproxy.add_toxic("driver-b1", Toxic("someone-else", "latency"))
    fault = ctx.make_fault("slicer", "driver", {"stream": "both", "average_size": 3})
    fault.apply()
    added = [t for t in all_toxics(fake) if t.startswith("chaos-slicer-")]
    assert len(added) == 6  # 3 proxies x 2 streams
    assert fake.toxiproxy.get("driver-b2").toxics[0].attributes == {"average_size": 3, "size_variation": 0, "delay": 0}
    assert not fake.toxic_names()["central-b1"]
    fault.heal()
    fault.heal()
    assert all_toxics(fake) == ["someone-else"]


def test_blackhole_is_a_timeout_of_zero(ctx, fake) -> None:
    ctx.make_fault("blackhole", "driver@3", {"stream": "upstream"}).apply()
    [toxic] = fake.toxiproxy.get("driver-b3").toxics
    assert (toxic.type, toxic.stream, toxic.attributes) == ("timeout", "upstream", {"timeout": 0})


def test_an_apply_that_fails_midway_leaves_nothing_behind(ctx, fake) -> None:
    fake.toxiproxy.fail_after = 4
    fault = ctx.make_fault("latency", "driver", {"stream": "both"})
    with pytest.raises(FaultError, match="driver link latency: apply failed: ToxiproxyError"):
        fault.apply()
    assert all_toxics(fake) == [] and not fault.active
    fake.toxiproxy.fail_after = None
    fault.apply()  # and it can be applied again afterwards
    assert len(all_toxics(fake)) == 6


def test_a_failed_heal_is_retried_by_the_next_heal(ctx, fake, monkeypatch) -> None:
    fault = ctx.make_fault("bandwidth", "driver@1", {"rate": 5})
    fault.apply()
    real = fake.toxiproxy.remove_toxic

    def flaky(proxy: str, name: str) -> None:
        monkeypatch.setattr(fake.toxiproxy, "remove_toxic", real)
        raise ToxiproxyError("toxiproxy DELETE: no answer")

    monkeypatch.setattr(fake.toxiproxy, "remove_toxic", flaky)
    with pytest.raises(FaultError, match="heal incomplete"):
        fault.heal()
    assert fault.active and len(all_toxics(fake)) == 1
    fault.heal()
    assert not fault.active and all_toxics(fake) == []


def test_link_down_disables_the_role_only_and_nested_cuts_heal_in_order(ctx, fake) -> None:
    outer = ctx.make_fault("link-down", "driver", {})
    inner = ctx.make_fault("link-down", "driver@2", {})
    outer.apply()
    inner.apply()
    enabled = {name: p.enabled for name, p in fake.toxiproxy.proxies().items()}
    assert enabled == {"driver-b1": False, "driver-b2": False, "driver-b3": False,
                       "central-b1": True, "central-b2": True, "central-b3": True}
    inner.heal()
    assert not fake.toxiproxy.get("driver-b2").enabled, "the outer cut still holds"
    outer.heal()
    outer.heal()
    assert all(p.enabled for p in fake.toxiproxy.proxies().values())


def test_broker_groups_resolve_when_applied(ctx, fake) -> None:
    leader = ctx.make_fault("pause", "broker:leader:orders", {})
    fake.leader_id = 3  # leadership moved after the fault was made
    leader.apply()
    assert [p.name for p in leader.hit] == ["broker-3"]
    assert [b.paused for b in fake.brokers] == [False, False, True]
    leader.heal()
    minority = ctx.make_fault("kill", "broker:minority", {})
    minority.apply()
    assert [b.running for b in fake.brokers] == [True, True, False]
    minority.heal()
    everyone = ctx.make_fault("term", "broker:all", {})
    everyone.apply()
    assert not any(b.running for b in fake.brokers)
    everyone.heal()
    everyone.heal()
    assert all(b.running and not b.paused for b in fake.brokers)
    assert [b.starts for b in fake.brokers] == [1, 1, 2]


def test_heal_starts_only_what_the_fault_stopped(ctx) -> None:
    central = ctx.services["central"]
    central.running = False
    fault = ctx.make_fault("kill", "central", {})
    fault.apply()
    fault.heal()
    assert not central.running, "it was not running before the fault; healing must not start it"


def test_restart_heal_is_a_no_op_and_start_order_leaves_the_service_to_itself(ctx, fake) -> None:
    central = ctx.services["central"]
    restart = ctx.make_fault("restart", "central", {"hard": True})
    restart.apply()
    assert central.log == ["kill", "start"]
    restart.heal()
    assert central.log == ["kill", "start"]
    early = ctx.make_fault("before-proxies", "central", {})
    early.apply()
    assert central.running and not any(fake.toxiproxy.get(f"central-b{n}").enabled for n in (1, 2, 3))
    central.running = False  # it crashed without Kafka: the finding, which the heal must not hide
    early.heal()
    assert not central.running and all(fake.toxiproxy.get(f"central-b{n}").enabled for n in (1, 2, 3))


def test_the_context_is_the_nemesis_fault_factory(ctx, fake) -> None:
    history = History()
    schedule = ScheduleBuilder().fault("timeout", "driver@1", 0.01, {"timeout": 0}).fault(
        "pause", "broker:2", 0.01).build()
    ScheduleRunner(schedule, ctx.make_fault, history).run()
    names = [e["name"] for e in history.events if e["type"] == "fault_end"]
    assert names == ["driver->broker 1 link timeout", "broker 2 pause"]
    assert all_toxics(fake) == [] and not any(b.paused for b in fake.brokers)


def test_flap_toggles_the_link_until_healed_and_leaves_it_up(fake: FakeInfra, ctx: FaultContext) -> None:
    fault = ctx.make_fault("flap", "driver", {"down": 20, "up": 20})
    proxies = fault.proxies
    fault.apply()
    assert not any(fake.toxiproxy.get(p).enabled for p in proxies), "the first outage starts with the apply"
    deadline = time.monotonic() + 5
    while fault.toggles < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fault.toggles >= 4, "the link went down and up again more than once"
    fault.heal()
    toggles = fault.toggles
    assert all(fake.toxiproxy.get(p).enabled for p in proxies)
    time.sleep(0.1)
    assert fault.toggles == toggles, "healed: the toggling stopped"
