"""A scenario's start: the sample network's seven services to ready, started afresh or forked.

    python benchmarks/startup.py [--runs 7] [--quick]

Every scenario pays this before its first fault, and on two cores the services' imports are most
of it. Each run starts one scenario's services (Central, two CPs and their monitors, two drivers)
on one real broker, as ``SystemRun`` does in a scenario, waits for every one to be ready, and
stops them; the two ways alternate run by run, so both see the same machine. Figures: the wall
time to all ready, and the CPU time the services themselves spent by then (from /proc), medians
over the runs, and forked over afresh as ratios.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import goal, runs_from_args, say, summary, write
from benchmarks.evnet import new_prefix
from chaos.core.system import SystemRun
from chaos.faults.process import each
from chaos.infra.backends.local import LocalBackend
from chaos.infra.reaper import stat_fields
from chaos.infra.zygote import PRELOAD_VAR
from scenarios.ev_spec import ev_spec

MODES = {"afresh": "off", "forked": "on"}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one live process (fields 14 and 15 of /proc/PID/stat)."""
    fields = stat_fields(pid) or []
    return (int(fields[11]) + int(fields[12])) / TICKS if len(fields) > 12 else 0.0


def start_once(backend: LocalBackend, mode: str, folder: Path) -> dict[str, float]:
    os.environ[PRELOAD_VAR] = MODES[mode]
    folder.mkdir(parents=True)
    run = SystemRun(ev_spec(), backend, folder, topic_prefix=new_prefix("startup"))
    services = list(run.services.values())
    started = time.perf_counter()
    try:
        for service in services:
            service.start(wait=False)
        for service in services:
            service.wait_ready()
        wall = time.perf_counter() - started
        cpu = sum(cpu_seconds(s.pid) for s in services if s.pid is not None)
    finally:
        each(services, lambda s: s.stop())
        run.close()
    return {"wall_s": wall, "cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    runs = runs_from_args(__doc__, argv, runs=7, quick_runs=2)
    roles = tuple(sorted({s.role for s in ev_spec().services if s.role}))
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        backend = LocalBackend.create(Path(tmp) / "infra", roles=(*roles, "harness")).up()
        try:
            for mode in MODES:  # warm-up, not counted: the broker's first topics, the zygote's imports
                start_once(backend, mode, Path(tmp) / f"warm-{mode}")
            for i in range(runs):
                for mode in MODES:
                    figures = start_once(backend, mode, Path(tmp) / f"run-{i}-{mode}")
                    samples[mode].append(figures)
                    say(f"run {i + 1}/{runs} {mode}: {figures['wall_s']:.2f} s to ready, "
                        f"{figures['cpu_s']:.2f} CPU-s in the services")
        finally:
            backend.clean()
    result: dict[str, Any] = {
        mode: {key: summary([s[key] for s in samples[mode]]) for key in ("wall_s", "cpu_s")} for mode in MODES
    }
    wall_ratio = result["forked"]["wall_s"]["median"] / result["afresh"]["wall_s"]["median"]
    cpu_ratio = result["forked"]["cpu_s"]["median"] / result["afresh"]["cpu_s"]["median"]
    result.update(services=7, runs=runs, wall_ratio_forked_over_afresh=wall_ratio,
                  cpu_ratio_forked_over_afresh=cpu_ratio)
    result["goal_table"] = [
        goal("Scenario start, forked over afresh (wall, median)", wall_ratio, "<=", 0.7),
        goal("Services' CPU to ready, forked over afresh (median)", cpu_ratio, "<=", 0.5),
    ]
    write("startup", result)
    say(f"to ready: afresh {result['afresh']['wall_s']['median']:.2f} s, forked "
        f"{result['forked']['wall_s']['median']:.2f} s ({wall_ratio:.2f}x); services' CPU {cpu_ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
