"""``free_ports``: listeners the harness gives brokers, proxies and services stay clear of the ports
the kernel hands out to outgoing connections, and of the ports another harness process was just
given, so no connection and no other run can take one first."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaos.infra import ports
from chaos.infra.backends.docker import layout
from chaos.infra.endpoints import Endpoints
from chaos.infra.ports import LISTEN_LOW, ephemeral_low, free_ports, in_fixed_layout, lease

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def own_leases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test leases in a folder of its own (the machine-wide one belongs to real runs)."""
    folder = tmp_path / "leases"
    monkeypatch.setenv("EVCHAOS_PORT_LEASES", str(folder))
    return folder


def test_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    low = ephemeral_low()
    taken = free_ports(40)
    assert len(set(taken)) == 40
    if low is not None:
        assert all(LISTEN_LOW <= port < low for port in taken), (low, taken)
    for port in taken:  # each can be bound right away
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", LISTEN_LOW))
        taken.listen()
        monkeypatch.setattr(ports.random, "shuffle", lambda items: None)  # try LISTEN_LOW first
        assert LISTEN_LOW not in free_ports(3)


def test_the_fixed_layout_of_the_compose_stack_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compose stack on the host network binds those ports whenever it starts; a test cluster's
    listener there would answer the stack's clients instead (CI: a plaintext proxy on 21101)."""
    monkeypatch.setattr(ports.random, "shuffle", lambda items: items.sort(key=lambda port: not 21_100 <= port < 21_200))
    taken = free_ports(50)
    assert not [port for port in taken for fixed in ports.FIXED_LAYOUT if port in fixed], taken


def test_every_fixed_port_of_the_docker_layout_lies_in_the_reserved_ranges() -> None:
    """If the layout grows (more roles, brokers, a new listener), the reservation must grow with it."""
    fixed = layout(3, ("driver", "central", "cp", "monitor", "harness")).ports()
    endpoints = Endpoints.from_json((ROOT / "docker" / "endpoints.json").read_text())
    fixed |= {int(address.rpartition(":")[2]) for address in endpoints.roles.values()}
    fixed |= {int(broker.internal.rpartition(":")[2]) for broker in endpoints.brokers}
    outside = sorted(port for port in fixed if port >= LISTEN_LOW and not in_fixed_layout(port))
    assert not outside, f"fixed ports free_ports may hand out: {outside} (widen ports.FIXED_LAYOUT)"


def test_without_a_known_range_the_kernel_chooses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", tmp_path / "missing")
    assert ephemeral_low(tmp_path / "missing") is None
    chosen = free_ports(3)
    assert len(set(chosen)) == 3 and all(port > 0 for port in chosen)


GRAB = """
import json, sys, time
from chaos.infra.ports import free_ports
print(json.dumps(free_ports(int(sys.argv[1]))), flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_port_another_process_was_given_is_not_given_again_until_it_ends(
    own_leases: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two harness processes, each seeing every port free: the second never gets the first's ports."""
    monkeypatch.setattr(ports.random, "shuffle", lambda items: None)  # both try the same ports, in order
    other = subprocess.Popen([sys.executable, "-c", GRAB.replace("from chaos", "import chaos.infra.ports as p; "
                              "p.random.shuffle = lambda items: None\nfrom chaos"), "20", "600"],
                             stdout=subprocess.PIPE, text=True, env={**os.environ}, cwd=Path(__file__).parents[2])
    try:
        assert other.stdout is not None
        theirs = set(json.loads(other.stdout.readline()))
        mine = set(free_ports(20))
        assert len(theirs) == 20 and not theirs & mine, "the same port went to two processes"
    finally:
        other.kill()
        other.wait(10)
    assert set(free_ports(20)) & theirs, "the leases of a process that ended are taken back"


def test_a_lease_runs_out_after_its_time_unless_held_for_the_process(
    own_leases: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_leases.mkdir(parents=True, exist_ok=True)
    assert lease(23456, own_leases) and lease(23458, own_leases, hold=None)
    assert not lease(23456, own_leases), "held by this live process"
    later = time.time() + ports.LEASE_SECONDS + 1
    monkeypatch.setattr(ports.time, "time", lambda: later)
    assert lease(23456, own_leases), "an old lease no longer holds"
    assert not lease(23458, own_leases), "a cluster's port stays leased while its process lives"
    (own_leases / "23457").write_text("garbage")
    os.utime(own_leases / "23457", (0, 0))
    assert lease(23457, own_leases), "a half-written lease of long ago is reclaimed"


RACE = """
import sys, time
from pathlib import Path
from chaos.infra.ports import lease
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print("won" if lease(24680, Path(sys.argv[1])) else "lost", flush=True)
sys.stdin.read()  # alive until every racer has raced: a winner that ended would leave a stale lease
"""


def test_of_many_processes_reclaiming_one_stale_lease_exactly_one_wins(own_leases: Path) -> None:
    own_leases.mkdir(parents=True, exist_ok=True)
    (own_leases / "24680").write_text("1-nosuchprocess 0 process\n")  # its owner is long gone
    go = str(time.time() + 1.5)
    racers = [subprocess.Popen([sys.executable, "-c", RACE, str(own_leases), go], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]) for _ in range(8)]
    try:  # on a busy machine a racer may start late; the others stay alive until it has raced
        said = [racer.stdout.readline().strip() for racer in racers if racer.stdout is not None]
    finally:
        for racer in racers:
            racer.communicate(timeout=60)
    assert sorted(said) == ["lost"] * 7 + ["won"], said
