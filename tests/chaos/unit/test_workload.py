"""``chaos.workload``: a ``Workload``'s validation and draws, and ``ClosedLoop`` playing it.

The loop runs fake ``perform`` functions on a fake clients object whose ``history`` is a real
in-memory ``History``. Nothing sleeps and hopes: every wait is on an event or a condition with a
deadline, and each loop runs in a thread joined with one.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from chaos.core.history import History
from chaos.workload import ClosedLoop, Invocation, Workload
from chaos.workload.spec import WorkloadError

DEADLINE = 10.0
MIX = {"charge": 6.0, "stop-mid-charge": 2.0, "cancel": 1.0}
TARGETS = ("CP_001", "CP_002", None)


def workload(**changes: Any) -> Workload:
    fields: dict[str, Any] = {"clients": ("D1", "D2", "D3"), "mix": MIX, "targets": TARGETS, "think": (0.0, 0.01)}
    return Workload(**{**fields, **changes})


@dataclass
class Clients:
    """What a scenario hands the loop: here only its history."""

    history: History = field(default_factory=History)

    def notes(self, text: str) -> list[dict[str, Any]]:
        return [e for e in self.history.events if e["type"] == "note" and e["text"] == text]


class Recorder:
    """A ``perform`` that records what each client was asked, and how many ran at once.

    It sets ``stop`` once every client has performed ``each`` operations; ``hold`` (if given) runs
    inside every operation, while it counts as in flight.
    """

    def __init__(self, stop: threading.Event, clients: tuple[str, ...], each: int = 3,
                 hold: Callable[[Recorder], object] | None = None) -> None:
        self.stop, self.clients, self.each, self.hold = stop, clients, each, hold
        self.calls: dict[str, list[tuple[str, str | None]]] = {name: [] for name in clients}
        self.in_flight = self.max_in_flight = 0
        self.params: list[dict[str, Any]] = []
        self.changed = threading.Condition()

    def __call__(self, clients: Any, op: Invocation) -> None:
        assert isinstance(clients, Clients)
        with self.changed:
            self.params.append(op.params)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.calls[op.client].append((op.f, op.target))
            self.changed.notify_all()
        try:
            if self.hold is not None:
                self.hold(self)
        finally:
            with self.changed:
                self.in_flight -= 1
                if all(len(calls) >= self.each for calls in self.calls.values()):
                    self.stop.set()
                self.changed.notify_all()


def start(loop: ClosedLoop, clients: Clients, stop: threading.Event) -> tuple[threading.Thread, list[BaseException]]:
    """Run the loop in a thread; the list gets what it raised, if anything."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            loop(clients, stop)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run, name="test-loop", daemon=True)
    thread.start()
    return thread, raised


def play(loop: ClosedLoop, clients: Clients, stop: threading.Event) -> BaseException | None:
    """Run the loop to its end, within the deadline; what it raised, if anything."""
    thread, raised = start(loop, clients, stop)
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"the loop did not end within {DEADLINE:g} s"
    return raised[0] if raised else None


class CountingSemaphore(threading.BoundedSemaphore):
    """The loop's slots, telling the test when a client gave up waiting for one."""

    refused = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        got = super().acquire(blocking, timeout)
        if not got:
            CountingSemaphore.refused.set()
        return got


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once a client of the loop under test timed out waiting for a slot."""
    CountingSemaphore.refused = threading.Event()
    monkeypatch.setattr(threading, "BoundedSemaphore", CountingSemaphore)
    return CountingSemaphore.refused


def expected_draws(work: Workload, seed: int | None, index: int, name: str) -> Iterator[tuple[str, str | None]]:
    """What client ``name`` must draw, in order: one draw, then one think time, per operation."""
    rng = random.Random(f"{seed}:{index}:{name}")
    while True:
        yield work.draw(rng)
        work.pause(rng)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"clients": ()}, "a workload needs at least one client"),
        ({"clients": ("D1", "D2", "D1")}, "client names repeat: ['D1', 'D1', 'D2']"),
        ({"mix": {}}, "mix must give operations non-negative weights, some positive; got {}"),
        ({"mix": {"charge": 1.0, "cancel": -1.0}}, "mix must give operations non-negative weights"),
        ({"mix": {"charge": 0.0}}, "mix must give operations non-negative weights, some positive; got {'charge': 0.0}"),
        ({"targets": ()}, "targets must list at least one target (None means 'any')"),
        ({"think": (0.5, 0.1)}, "think must be (min, max) with 0 <= min <= max, got (0.5, 0.1)"),
        ({"think": (-0.1, 0.1)}, "think must be (min, max) with 0 <= min <= max"),
        ({"concurrency": 0}, "concurrency must be at least 1, got 0"),
        ({"duration": 0.0}, "duration must be positive, got 0.0"),
        ({"duration": -5.0}, "duration must be positive, got -5.0"),
    ],
)
def test_an_inconsistent_workload_says_what_is_wrong(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(WorkloadError) as raised:
        workload(**changes)
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, ValueError)


def test_draws_follow_the_mix_and_the_targets_and_repeat_under_one_seed() -> None:
    work = workload(mix={"charge": 6.0, "stop-mid-charge": 2.0, "cancel": 1.0, "never": 0.0})
    rng = random.Random(3)
    draws = [work.draw(rng) for _ in range(9000)]
    ops = Counter(f for f, _ in draws)
    assert set(ops) == {"charge", "stop-mid-charge", "cancel"}, "a zero weight is never drawn"
    assert 5400 < ops["charge"] < 6600 and 1600 < ops["stop-mid-charge"] < 2400 and 700 < ops["cancel"] < 1300
    assert {target for _, target in draws} == set(TARGETS), "None ('any') is a target like the others"
    again = random.Random(3)
    assert [work.draw(again) for _ in range(9000)] == draws
    assert all(0.0 <= work.pause(rng) <= 0.01 for _ in range(100))


def test_a_workload_describes_itself_as_json() -> None:
    work = workload(concurrency=2, duration=30.0, params={"length": (0.2, 1.2), "note": "x"})
    described = work.describe()
    assert json.loads(json.dumps(described)) == described
    assert described == {
        "clients": ["D1", "D2", "D3"], "mix": MIX, "targets": ["CP_001", "CP_002", None], "think": [0.0, 0.01],
        "concurrency": 2, "duration": 30.0, "params": {"length": [0.2, 1.2], "note": "x"},
    }


def test_every_client_runs_its_operations_are_counted_and_the_history_says_so() -> None:
    stop, clients = threading.Event(), Clients()
    work = workload(params={"length": (0.2, 1.2)})
    recorder = Recorder(stop, tuple(work.clients))
    loop = ClosedLoop(work, recorder).seeded(11)
    assert play(loop, clients, stop) is None
    assert all(len(calls) >= 3 for calls in recorder.calls.values()), recorder.calls
    performed = Counter(f for calls in recorder.calls.values() for f, _ in calls)
    assert loop.counts == performed and loop.errors == []
    assert all(params == {"length": (0.2, 1.2)} for params in recorder.params), "the workload's params, as is"
    [started] = clients.notes("workload")
    assert started["workload"] == work.describe() and started["seed"] == 11
    [done] = clients.notes("workload done")
    assert done["operations"] == dict(sorted(performed.items())) and done["errors"] == []


def test_seeded_is_the_same_workload_under_another_seed() -> None:
    loop = ClosedLoop(workload(), Recorder(threading.Event(), ("D1",)), seed=1)
    again = loop.seeded(2)
    assert (again.workload, again.perform, again.seed) == (loop.workload, loop.perform, 2) and loop.seed == 1


def test_at_most_concurrency_operations_are_in_flight(refused: threading.Event) -> None:
    """Operations are held until a third client has been refused a slot; then they all run freely."""
    stop, clients, gate = threading.Event(), Clients(), threading.Event()
    work = workload(clients=("D1", "D2", "D3", "D4"), concurrency=2, params={"length": (0.2, 1.2)})
    recorder = Recorder(stop, tuple(work.clients), each=3, hold=lambda _: gate.wait(DEADLINE))
    thread, raised = start(ClosedLoop(work, recorder, seed=5), clients, stop)
    try:
        with recorder.changed:
            assert recorder.changed.wait_for(lambda: recorder.in_flight >= 2, timeout=DEADLINE)
        assert refused.wait(DEADLINE), "no client was refused a slot: the bound is not applied"
        assert recorder.in_flight == 2
    finally:
        gate.set()
        thread.join(DEADLINE)
    assert not thread.is_alive() and raised == []
    assert recorder.max_in_flight == 2 and all(len(calls) >= 3 for calls in recorder.calls.values())


def test_the_same_seed_draws_the_same_operations_per_client() -> None:
    work = workload(params={"length": (0.2, 1.2)})
    runs = []
    for _ in range(2):
        stop = threading.Event()
        recorder = Recorder(stop, tuple(work.clients), each=5)
        assert play(ClosedLoop(work, recorder, seed=42), Clients(), stop) is None
        runs.append(recorder.calls)
    for index, name in enumerate(work.clients):
        draws = expected_draws(work, 42, index, name)
        assert [next(draws) for _ in range(5)] == runs[0][name][:5] == runs[1][name][:5]
    other = expected_draws(work, 43, 0, "D1")
    assert [next(other) for _ in range(5)] != runs[0]["D1"][:5], "another seed, another sequence"


def test_a_client_waiting_for_a_slot_skips_no_draw(refused: threading.Event) -> None:
    """A client that times out waiting for a slot and tries again must still perform its draws in order."""
    stop, work = threading.Event(), workload(clients=("D1", "D2"), concurrency=1, params={"length": (0.2, 1.2)})
    first = threading.Event()

    def hold_the_first(recorder: Recorder) -> None:
        if not first.is_set():
            first.set()
            assert refused.wait(DEADLINE), "the other client never waited for the slot"

    recorder = Recorder(stop, tuple(work.clients), each=4, hold=hold_the_first)
    assert play(ClosedLoop(work, recorder, seed=8), Clients(), stop) is None
    assert refused.is_set() and recorder.max_in_flight == 1
    for index, name in enumerate(work.clients):
        draws = expected_draws(work, 8, index, name)
        assert recorder.calls[name] == [next(draws) for _ in recorder.calls[name]], name


def test_a_crashing_operation_stops_the_loop_which_raises_naming_it() -> None:
    stop, clients = threading.Event(), Clients()
    work = workload(mix={"charge": 1.0}, targets=("CP_001",))
    done = Counter[str]()
    lock = threading.Lock()

    def perform(_: Any, op: Invocation) -> None:
        if op.client == "D2":
            raise ValueError("no such CP")
        with lock:
            done[op.client] += 1

    raised = play(ClosedLoop(work, perform, seed=1), clients, stop)
    assert isinstance(raised, RuntimeError)
    assert str(raised) == "1 operations crashed; first: D2 charge: ValueError: no such CP"
    assert stop.is_set(), "the crash stopped every client"
    [note] = clients.notes("workload done")
    assert note["errors"] == ["D2 charge: ValueError: no such CP"]
    assert note["operations"] == ({"charge": sum(done.values())} if done else {}), "a crash is not counted"


def test_the_duration_ends_the_loop_without_a_stop() -> None:
    stop, clients = threading.Event(), Clients()
    work = workload(duration=0.3, params={"length": (0.2, 1.2)})
    starts: list[float] = []
    lock = threading.Lock()

    def perform(_: Any, op: Invocation) -> None:
        with lock:
            starts.append(time.monotonic())

    began = time.monotonic()
    assert play(ClosedLoop(work, perform, seed=3), clients, stop) is None
    assert not stop.is_set() and starts, "ended by the duration, having run operations"
    assert max(starts) - began < 0.3 + 0.5, "no operation starts after the duration (with scheduling slack)"
    [done] = clients.notes("workload done")
    assert sum(done["operations"].values()) == len(starts)


def test_a_loop_told_to_stop_before_it_starts_performs_nothing() -> None:
    stop, clients = threading.Event(), Clients()
    stop.set()
    recorder = Recorder(stop, ("D1", "D2", "D3"))
    assert play(ClosedLoop(workload(), recorder), clients, stop) is None
    assert all(calls == [] for calls in recorder.calls.values())
    [done] = clients.notes("workload done")
    assert done["operations"] == {} and clients.notes("workload")[0]["seed"] is None
