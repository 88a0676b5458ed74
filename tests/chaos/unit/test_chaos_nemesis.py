"""Schedules as data, the seeded generator and the runner's heal-in-finally promise."""

from __future__ import annotations

import itertools
import textwrap
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from chaos.checks.views import fault_windows
from chaos.core.history import History
from chaos.faults import BrokerGroup, LinkTarget, fault_class
from chaos.faults.network import LinkFault
from chaos.faults.params import validate_params
from chaos.infra.topology import validate_roles
from chaos.nemesis import (
    HEAL_ALL,
    MenuItem,
    NemesisError,
    Schedule,
    ScheduleBuilder,
    ScheduleError,
    ScheduleRunner,
    Step,
    generate,
    schedule_file,
)

MENU = [
    MenuItem("timeout", ["driver", "central", "cp"]),
    MenuItem(
        "latency", ["driver", "cp"], params={"latency": (100, 2000), "jitter": [0, 50, 500], "toxicity": 1.0}
    ),
    MenuItem("kill", ["broker-1", "central"], duration=(0.5, 2.0), weight=0.5),
]


def example() -> Schedule:
    return (
        ScheduleBuilder(seed=7, name="example")
        .wait(2)
        .fault("timeout", "driver", 8, name="driver link timeout")
        .fault("latency", "cp", None, {"latency": 500}, background=True)
        .wait(5)
        .heal_all()
        .quiet(10)
        .build()
    )


def test_builder_places_steps_on_a_cursor() -> None:
    schedule = example()
    assert [(s.at, s.kind, s.target, s.duration) for s in schedule.steps] == [
        (2, "timeout", "driver", 8),
        (10, "latency", "cp", None),
        (15, HEAL_ALL, "", None),
    ]
    assert schedule.active_until == 15 and schedule.end == 25
    assert schedule.steps[0].label == "driver link timeout" and schedule.steps[1].label == "cp latency"
    text = schedule.describe()
    assert "seed=7" in text and "driver link timeout for 8s" in text and "until heal-all" in text


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_schedule_files_round_trip(tmp_path: Path, suffix: str) -> None:
    schedule = example()
    path = schedule.dump(tmp_path / f"dir/schedule{suffix}")
    assert Schedule.load(path) == schedule
    assert Schedule.loads(schedule.to_json()) == Schedule.loads(schedule.to_yaml()) == schedule


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "steps: [{at: 1, kind: kill, target: x, durration: 3}]",
            "steps[0]: unknown field 'durration'; a step has only",
        ),
        ("steps: [{at: 1, target: x}]", "steps[0]: missing 'kind': the fault kind"),
        ("steps: [{kind: kill, target: x}]", "steps[0]: missing 'at'"),
        ("steps: [{at: 1, kind: kill}]", "steps[0]: missing 'target' for fault kind 'kill'"),
        (
            "steps: [{at: 0, kind: heal-all}, {at: -1, kind: kill, target: x}]",
            "steps[1].at: must be a number of seconds >= 0",
        ),
        (
            "steps: [{at: 1, kind: kill, target: x, duration: abc}]",
            "steps[0].duration: must be a number of seconds > 0, got 'abc'",
        ),
        (
            "steps: [{at: 1, kind: kill, target: x, duration: 0}]",
            "steps[0].duration: must be a number of seconds > 0",
        ),
        ("steps: [{at: 1, kind: kill, target: x, params: [1]}]", "steps[0].params: must be a mapping"),
        ("steps: [3]", "steps[0]: a step must be a mapping"),
        ("steps: {at: 1}", "'steps' must be a list of steps"),
        ("seed: x\nsteps: []", "'seed' must be an integer"),
        ("quiet: -3\nsteps: []", "quiet: must be a number of seconds >= 0, got -3; the quiet period"),
        ("stepz: []", "unknown field 'stepz'; a schedule has only: steps"),
        ("just text", "a schedule must be a mapping with a 'steps' list"),
        ("steps: [{at: 1", "not valid YAML/JSON at line 1"),
    ],
)
def test_bad_schedule_files_say_which_field_and_what_to_do(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScheduleError) as error:
        Schedule.load(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_a_bare_list_of_steps_is_a_schedule_and_missing_files_are_reported(tmp_path: Path) -> None:
    schedule = Schedule.loads("- {at: 1, kind: kill, target: central, duration: 2}")
    assert schedule.steps == (Step(1.0, "kill", "central", 2.0),) and schedule.end == 3.0
    with pytest.raises(ScheduleError, match="cannot read schedule file"):
        Schedule.load(tmp_path / "nope.yaml")


def docstring_example(module: ModuleType) -> str:
    """The indented block after the first ``::`` of a module's docstring, dedented."""
    _, marker, rest = (module.__doc__ or "").partition("::\n")
    assert marker, f"{module.__name__}'s docstring has no '::' example block"
    block = itertools.takewhile(lambda line: not line.strip() or line.startswith(" "), rest.splitlines())
    return textwrap.dedent("\n".join(block))


def test_the_file_form_example_loads_and_names_only_faults_the_library_accepts() -> None:
    """People copy this example into their first schedule file; loading alone once let it drift.

    Kinds, parameters and targets are checked with the fault library's own rules, without a cluster:
    roles and services are each system's own, so a link target is checked for its form and a process
    target must be one of the broker forms every cluster has.
    """
    schedule = Schedule.loads(docstring_example(schedule_file), source="the schedule_file docstring")
    assert schedule.faults and schedule.steps[-1].kind == HEAL_ALL
    for step in schedule.faults:
        fault = fault_class(step.kind)
        validate_params(fault.kind, fault.PARAMS, step.params)
        if issubclass(fault, LinkFault):
            validate_roles([LinkTarget.parse(step.target).role])
        else:
            BrokerGroup.parse(step.target)


def test_the_same_seed_gives_exactly_the_same_schedule() -> None:
    first, again = (
        generate(7, MENU, faults=(3, 6), overlap=0.3),
        generate(7, MENU, faults=(3, 6), overlap=0.3),
    )
    assert first == again and first.to_yaml() == again.to_yaml()
    others = {generate(seed, MENU).to_json() for seed in range(20)}
    assert len(others) == 20, "different seeds should explore different schedules"


@pytest.mark.parametrize("seed", range(30))
def test_generated_schedules_stay_within_the_menu_and_end_healed_and_quiet(seed: int) -> None:
    schedule = generate(seed, MENU, faults=(2, 5), duration=(1, 10), gap=(0.5, 5), quiet=12)
    *faults, last = schedule.steps
    assert last.kind == HEAL_ALL and schedule.quiet == 12 and schedule.seed == seed
    assert 2 <= len(faults) <= 5
    assert all(step.heal_at is not None and step.heal_at <= last.at + 1e-9 for step in faults)
    items = {item.kind: item for item in MENU}
    for step in faults:
        item = items[step.kind]
        assert step.target in item.targets
        low, high = item.duration or (1, 10)
        assert low - 0.05 <= (step.duration or 0) <= high + 0.05
        if step.kind == "latency":
            assert 100 <= step.params["latency"] <= 2000 and isinstance(step.params["latency"], int)
            assert step.params["jitter"] in (0, 50, 500) and step.params["toxicity"] == 1.0
    assert Schedule.loads(schedule.to_yaml()) == schedule


def test_generator_accepts_the_short_menu_form_and_rejects_empty_menus() -> None:
    schedule = generate(1, {"pause": ["monitor"]}, faults=(1, 1))
    assert [(s.kind, s.target) for s in schedule.faults] == [("pause", "monitor")]
    with pytest.raises(ValueError, match="menu is empty"):
        generate(1, [])
    with pytest.raises(ValueError, match="no targets"):
        MenuItem("kill", [])


class FakeFault:
    def __init__(
        self, log: list[str], kind: str, target: str, params: Mapping[str, Any], fail: str = ""
    ) -> None:
        self.log, self.kind, self.target, self.fail = log, kind, target, fail
        self.name = f"{target} {kind}"

    def apply(self) -> None:
        self.log.append(f"apply {self.name}")
        if "apply" in self.fail:
            raise OSError("proxy not found")

    def heal(self) -> None:
        self.log.append(f"heal {self.name}")
        if "heal" in self.fail:
            raise OSError("toxiproxy down")


def factory(log: list[str], fail: dict[str, str] | None = None) -> Any:
    def make_fault(kind: str, target: str, params: Mapping[str, Any]) -> FakeFault:
        if kind == "unknown-kind":
            raise KeyError(kind)
        return FakeFault(log, kind, target, params, (fail or {}).get(target, ""))

    return make_fault


def no_wait(seconds: float) -> bool:
    return False


def test_runner_applies_and_heals_in_order_and_records_windows_and_the_schedule_that_ran() -> None:
    log: list[str] = []
    history = History(seed=7)
    ran = ScheduleRunner(example(), factory(log), history, wait=no_wait).run()
    assert log == ["apply driver timeout", "heal driver timeout", "apply cp latency", "heal cp latency"]
    windows = fault_windows(history)
    assert [(w.name, w.kind, w.target, w.end is not None) for w in windows] == [
        ("driver link timeout", "timeout", "driver", True),
        ("cp latency", "latency", "cp", True),
    ]
    schedules = [e for e in history.events if e["type"] == "schedule"]
    assert [e["phase"] for e in schedules] == ["planned", "ran"]
    assert Schedule.from_dict(schedules[0]["schedule"]) == example()
    assert Schedule.from_dict(schedules[1]["schedule"]) == ran
    assert [(s.kind, s.target, s.params) for s in ran.steps] == [
        ("timeout", "driver", {}),
        ("latency", "cp", {"latency": 500}),
    ]
    assert all(s.duration is not None for s in ran.steps) and ran.seed == 7


def test_runner_really_waits_for_offsets_and_durations() -> None:
    log: list[str] = []
    schedule = ScheduleBuilder().wait(0.1).fault("kill", "x", 0.2).quiet(0.1).build()
    started = time.monotonic()
    ran = ScheduleRunner(schedule, factory(log), History()).run()
    assert time.monotonic() - started >= 0.39
    [step] = ran.steps
    assert step.at == pytest.approx(0.1, abs=0.05) and step.duration == pytest.approx(0.2, abs=0.05)


def test_open_ended_faults_are_healed_before_the_quiet_period() -> None:
    log: list[str] = []
    waits: list[tuple[float, list[str]]] = []

    def wait(seconds: float) -> bool:
        waits.append((seconds, list(log)))
        return False

    schedule = ScheduleBuilder().wait(1).fault("pause", "monitor").quiet(5).build()
    ScheduleRunner(schedule, factory(log), History(), wait=wait).run()
    assert log == ["apply monitor pause", "heal monitor pause"]
    quiet_seconds, log_when_quiet_began = waits[-1]
    assert quiet_seconds > 4 and log_when_quiet_began == log


def test_runner_heals_everything_when_apply_raises() -> None:
    log: list[str] = []
    history = History()
    schedule = ScheduleBuilder().fault("timeout", "driver", None).fault("kill", "broken", 5).build()
    with pytest.raises(NemesisError, match="applying 'broken kill' failed: OSError: proxy not found"):
        ScheduleRunner(schedule, factory(log, {"broken": "apply"}), history, wait=no_wait).run()
    assert log == ["apply driver timeout", "apply broken kill", "heal broken kill", "heal driver timeout"]
    assert all(w.end is not None for w in fault_windows(history))


def test_runner_heals_everything_when_interrupted_while_waiting() -> None:
    log: list[str] = []
    history = History()

    def interrupted(seconds: float) -> bool:
        raise KeyboardInterrupt

    schedule = ScheduleBuilder().fault("timeout", "driver", None).wait(1).fault("kill", "central", 5).build()
    with pytest.raises(KeyboardInterrupt):
        ScheduleRunner(schedule, factory(log), history, wait=interrupted).run()
    assert log == ["apply driver timeout", "heal driver timeout"]
    assert [e["phase"] for e in history.events if e["type"] == "schedule"] == ["planned", "ran"]


def test_a_failing_heal_does_not_stop_the_other_heals() -> None:
    log: list[str] = []
    history = History()
    schedule = ScheduleBuilder().fault("timeout", "a", None).fault("timeout", "b", None).heal_all().build()
    with pytest.raises(NemesisError, match="healing 'b timeout' failed"):
        ScheduleRunner(schedule, factory(log, {"b": "heal"}), history, wait=no_wait).run()
    assert log == ["apply a timeout", "apply b timeout", "heal b timeout", "heal a timeout"]
    ends = [e for e in history.events if e["type"] == "fault_end"]
    assert [e.get("error") is not None for e in ends] == [True, False]


def test_an_unknown_fault_kind_is_a_clear_error() -> None:
    schedule = ScheduleBuilder().fault("unknown-kind", "x", 1).build()
    with pytest.raises(NemesisError, match="cannot make fault 'unknown-kind' on 'x'"):
        ScheduleRunner(schedule, factory([]), History(), wait=no_wait).run()


def test_stop_from_another_thread_heals_promptly() -> None:
    log: list[str] = []
    history = History()
    schedule = ScheduleBuilder().fault("timeout", "driver", 30).quiet(30).build()
    runner = ScheduleRunner(schedule, factory(log), history).start()
    deadline = time.monotonic() + 5
    while not log and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    threading.Timer(0.05, runner.stop).start()
    ran = runner.join(timeout=5)
    assert time.monotonic() - started < 2
    assert log == ["apply driver timeout", "heal driver timeout"]
    assert ran is not None and len(ran.steps) == 1


def test_the_quiet_period_follows_the_heal_as_it_happened_not_as_planned() -> None:
    log: list[str] = []
    waits: list[tuple[float, list[str]]] = []

    class SlowHeal(FakeFault):
        def heal(self) -> None:  # a lone broker killed comes back only after its session times out
            time.sleep(0.6)
            super().heal()

    def wait(seconds: float) -> bool:
        waits.append((seconds, list(log)))
        return False

    schedule = ScheduleBuilder().fault("kill", "broker:1", 0.2).quiet(0.5).build()
    ScheduleRunner(schedule, lambda kind, target, params: SlowHeal(log, kind, target, params), History(),
                   wait=wait).run()
    quiet_seconds, log_when_quiet_began = waits[-1]
    assert log_when_quiet_began == ["apply broker:1 kill", "heal broker:1 kill"], waits
    assert quiet_seconds == pytest.approx(0.5, abs=0.1), f"the quiet after a late heal lasted {quiet_seconds:.2f} s"
