"""What the docker backend costs: its images, from nothing and cached, and its per-scenario overhead
as a ratio to the local backend's, both measured in this one run on the same scenarios.

    python benchmarks/docker.py [--quick]

Images: every image and offline base is removed, then ``evchaos images build`` runs (from nothing),
then again (cached: nothing changed, nothing is built). ``--quick`` keeps what the engine has and
times the cached build only. Overhead: the same scenarios run one by one (``-n 0``) on ``local``, then
on ``docker``, with ``--chaos-figures``; a scenario's overhead is its wall time minus the time it
deliberately spent under faults, and the ratio is of the medians. Needs a Docker engine (it starts
one as the docker tests do) and skips with the reason when there is none.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, goal, say, summary, write
from chaos.infra.backends.docker.daemon import ensure_engine, stop_engine
from chaos.infra.backends.docker.images import DEBIAN, JAVA, PYTHON, build_all, catalogue, images_offline
from chaos.infra.container import docker

SCENARIOS = [
    "scenarios/test_baseline.py::test_a_charge_without_faults",
    "scenarios/test_link_cuts.py::test_link_cut[driver-at-authorization]",
    "scenarios/test_link_cuts.py::test_link_cut[central-during-telemetry]",
    "scenarios/test_network_toxics.py::test_toxic_during_a_charge[latency-cp]",
    "scenarios/test_broker_faults.py::test_broker_fault_mid_session[kill]",
    "scenarios/test_process_faults.py::test_central_sigkill_mid_session_and_restart",
]


def build_seconds(offline: bool, from_nothing: bool) -> float:
    if from_nothing:
        tags = [image.tag for image in catalogue().values()] + [base.offline for base in (DEBIAN, JAVA, PYTHON)]
        docker("image", "rm", "--force", *tags, check=False, timeout=300)
    started = time.monotonic()
    build_all(offline=offline)
    return time.monotonic() - started


def overheads(backend: str, quick: bool) -> list[float]:
    chosen = SCENARIOS[:3] if quick else SCENARIOS
    with tempfile.TemporaryDirectory(prefix=f"bench-docker-{backend}-") as tmp:
        figures = Path(tmp) / "figures.jsonl"
        argv = [sys.executable, "-m", "pytest", *chosen, "-m", "chaos", "-q", "-p", "no:cacheprovider", "-n", "0",
                "--chaos-backend", backend, "--chaos-security", "sasl", f"--chaos-figures={figures}",
                f"--basetemp={tmp}/runs"]
        say(f"{backend}: {len(chosen)} scenarios one by one")
        code = subprocess.call(argv, cwd=ROOT, env={k: v for k, v in os.environ.items() if not k.startswith("TOX_")})
        rows = [json.loads(line) for line in figures.read_text().splitlines()] if figures.exists() else []
    if code != 0 or len(rows) != len(chosen):
        raise SystemExit(f"the {backend} run failed (exit {code}, {len(rows)} of {len(chosen)} scenarios)")
    return [row["overhead_s"] for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="cached image build only, three scenarios")
    args = parser.parse_args(argv)
    state = ensure_engine()
    if not state.running:
        say(f"skipped: {state.reason}")
        write("docker", {"skipped": state.reason, "goal_table": []})
        return 0
    try:
        offline = images_offline()
        scratch = None if args.quick else build_seconds(offline, from_nothing=True)
        cached = build_seconds(offline, from_nothing=False)
        local, in_containers = overheads("local", args.quick), overheads("docker", args.quick)
    finally:
        if state.started:
            stop_engine()
    ratio = statistics.median(in_containers) / statistics.median(local)
    result: dict[str, Any] = {
        "quick": args.quick, "offline_images": offline,
        "image_build_from_nothing_s": scratch, "image_build_cached_s": cached,
        "overhead_local_s": summary(local), "overhead_docker_s": summary(in_containers),
        "overhead_ratio_docker_to_local": round(ratio, 2),
    }
    result["goal_table"] = [
        goal("Images, cached build (nothing changed)", cached, "<=", 5.0, " s"),
        goal("Per-scenario overhead, docker / local (medians)", ratio, "<=", 1.5, "x"),
    ]
    write("docker", result)
    say(f"images: from nothing {scratch if scratch is None else round(scratch)} s, cached {cached:.1f} s; "
        f"overhead median local {statistics.median(local):.2f} s, docker {statistics.median(in_containers):.2f} s "
        f"({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
