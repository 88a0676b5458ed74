"""The pieces together on a real clock: a toy system in SQLite, the sampler, the nemesis and the checks."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaos.checks import InvariantSpec, run_checks
from chaos.cli.check import run_check
from chaos.core.history import History
from chaos.core.sampler import StateSampler
from chaos.core.spec import ProbeSpec
from chaos.nemesis import ScheduleBuilder, ScheduleRunner


class ToySystem:
    """One resource in a table; it gets stuck 'pending' while its link is broken, unless it can recover."""

    def __init__(self, db: Path, recovers: bool) -> None:
        self.db, self.recovers = db, recovers
        self.broken = threading.Event()
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE slots (id TEXT, state TEXT)")
            conn.execute("INSERT INTO slots VALUES ('slot-1', 'free')")
        conn.close()

    def set_state(self, state: str) -> None:
        with sqlite3.connect(self.db) as conn:
            conn.execute("UPDATE slots SET state = ?", (state,))
        conn.close()

    def make_fault(self, kind: str, target: str, params: Mapping[str, Any]) -> Any:
        system = self

        class LinkDown:
            name, kind, target = "slot link down", "link-down", "slot-1"

            def apply(self) -> None:
                system.broken.set()
                system.set_state("pending")

            def heal(self) -> None:
                system.broken.clear()
                if system.recovers:
                    system.set_state("free")

        return LinkDown()


def run_scenario(tmp_path: Path, recovers: bool) -> tuple[History, InvariantSpec]:
    system = ToySystem(tmp_path / "toy.db", recovers)
    rules = InvariantSpec(transient_limits={"pending": 0.5}, request_deadline=1.0, recovery_within=1.0)
    history = History(tmp_path / "history.jsonl", seed=11, invariants=rules.to_dict())
    probe = ProbeSpec(query="SELECT id, state FROM slots").build({"db": str(system.db)})
    schedule = ScheduleBuilder(seed=11).wait(0.1).fault("link-down", "slot-1", 0.3).quiet(0.4).build()
    with StateSampler(history, probe, interval=0.02):
        ScheduleRunner(schedule, system.make_fault, history).run()
        with history.operation("client", "use", resource="slot-1") as op:
            time.sleep(0.01)
            op.ok() if not system.broken.is_set() else op.fail("link down")
    history.close()
    return history, rules


def test_a_system_that_recovers_passes(tmp_path: Path) -> None:
    history, rules = run_scenario(tmp_path, recovers=True)
    verdicts = run_checks(history, rules)
    assert all(v.ok for v in verdicts), [str(v) for v in verdicts]
    assert run_check([str(tmp_path / "history.jsonl")]) == 0


def test_a_system_left_stuck_fails_naming_the_resource_and_the_fault(tmp_path: Path) -> None:
    history, rules = run_scenario(tmp_path, recovers=False)
    [stuck] = [v for v in run_checks(history, rules) if not v.ok]
    assert stuck.invariant == "transient-state-limit" and stuck.resource == "slot-1"
    assert stuck.windows == ("slot link down",)
    assert "slot-1 pending for" in stuck.message and "still in it at the end (limit 0.5 s)" in stuck.message
    assert stuck.message.endswith("during 'slot link down'; replay with --chaos-seed 11")
    assert run_check([str(tmp_path / "history.jsonl")]) == 1
