"""Ports for listeners: free now, below the kernel's ephemeral range, and leased machine-wide.

A port is only reserved once something binds it, and the harness hands ports out seconds before
the broker, proxy or service that gets one binds it. Two hazards live in that gap:

- **outgoing connections**: a port the kernel hands out for ``bind(0)`` comes from the range it also
  uses for the source ports of outgoing connections, and one of the hundreds of client connections
  a run opens took one (a broker died with "Address already in use"). Ports below that range are
  never taken that way;
- **another harness process**: two xdist workers, or a test run beside ``make chaos``, each saw the
  same port free and gave it to two listeners (a worker's broker died the same way). So every port
  handed out is also *leased*: a file ``<port>`` in a machine-wide folder, created exclusively,
  naming the process that took it and when. A lease holds for ``LEASE_SECONDS`` (ample time to bind;
  once bound, the kernel guards the port) or until its process ends, whichever comes first.
"""

from __future__ import annotations

import os
import random
import socket
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

LISTEN_LOW = 10_000
"""The lowest port ``free_ports`` hands out (below it: well-known and registered services)."""
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LEASE_SECONDS = 300.0
"""How long a port handed out stays reserved for its taker if nothing binds it."""


def lease_dir() -> Path:
    """One folder for every harness process on this machine, whatever its ``EVCHAOS_HOME``."""
    path = Path(os.environ.get("EVCHAOS_PORT_LEASES") or Path(tempfile.gettempdir()) / "evchaos-port-leases")
    path.mkdir(mode=0o1777, parents=True, exist_ok=True)
    return path


def ephemeral_low(path: Path | None = None) -> int | None:
    """The first port of the kernel's range for outgoing connections (None: not known here)."""
    try:
        return int((path or EPHEMERAL_RANGE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _me() -> str:
    return f"{os.getpid()}-{_start_time(os.getpid())}"


def _stale(lease: Path, now: float) -> bool:
    """True once a lease's time is up or the process that took it has ended."""
    try:
        owner, taken = lease.read_text().split()
        pid, _, start = owner.partition("-")
        return now - float(taken) > LEASE_SECONDS or _start_time(int(pid)) != start
    except FileNotFoundError:
        return False  # released meanwhile: the next create decides
    except (OSError, ValueError):
        return now - lease.stat().st_mtime > LEASE_SECONDS  # half-written by a taker that died mid-write


def lease(port: int, folder: Path | None = None) -> bool:
    """Take ``port`` for this process unless another live, recent lease holds it."""
    path = (folder or lease_dir()) / str(port)
    now = time.time()
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if not _stale(path, now):
                return False
            path.unlink(missing_ok=True)  # reclaim it; a racing taker's O_EXCL decides between us
            continue
        with os.fdopen(fd, "w") as out:
            out.write(f"{_me()} {now:.3f}\n")
        return True
    return False


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports, each free now, below the ephemeral range, and leased to this process.

    Where the range is not known the kernel chooses (``bind(0)``), still leased."""
    top = ephemeral_low()
    candidates = list(range(LISTEN_LOW, top)) if top is not None and top - LISTEN_LOW > 100 * count else []
    random.shuffle(candidates)
    folder = lease_dir()
    with ExitStack() as stack:
        ports: list[int] = []
        for candidate in [*candidates, *[0] * (4 * count)]:
            if len(ports) == count:
                break
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind((host, candidate))
            except OSError:
                continue  # in use: the next one
            port = int(sock.getsockname()[1])
            if lease(port, folder):
                ports.append(port)
        if len(ports) < count:
            raise OSError(f"only {len(ports)} of {count} free ports could be leased (leases in {folder})")
        return ports
