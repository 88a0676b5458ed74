"""Ports for listeners: free now, below the kernel's ephemeral range, and leased machine-wide.

A port is only reserved once something binds it, and the harness hands ports out seconds before
the broker, proxy or service that gets one binds it. Two hazards live in that gap:

- **outgoing connections**: a port the kernel hands out for ``bind(0)`` comes from the range it also
  uses for the source ports of outgoing connections, and one of the hundreds of client connections
  a run opens took one (a broker died with "Address already in use"). Ports below that range are
  never taken that way;
- **another harness process**: two xdist workers, or a test run beside ``make chaos``, each saw the
  same port free and gave it to two listeners (a worker's broker died the same way). So every port
  handed out is also *leased*: a file ``<port>`` in a machine-wide folder, created under a lock,
  naming the process that took it, when, and for how long. A service's port is held for
  ``LEASE_SECONDS`` (ample time to bind; once bound, the kernel guards it); a cluster's for as long
  as the process that owns the cluster lives, since a fault (a disabled proxy, a killed broker)
  unbinds it for a while. Either way a lease ends with its process;
- **a stack with fixed ports**: the compose stack on the host's network binds the docker layout's
  ports on loopback whenever it runs. A test cluster's proxy once sat on 21101 first, and the
  stack's Central did its SASL handshake with that plaintext proxy (ILLEGAL_SASL_STATE). So the
  ranges of that layout (``FIXED_LAYOUT``) are never handed out.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from chaos.infra.reaper import PROC, identity, mark_alive

LISTEN_LOW = 10_000
"""The lowest port ``free_ports`` hands out (below it: well-known and registered services)."""
FIXED_LAYOUT = (range(19_000, 19_200), range(21_000, 22_000))
"""Never handed out: the fixed ports of ``chaos.infra.backends.docker.config`` (brokers' listeners
from 19000, proxies from 21000), which the compose stack binds on the host network."""
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LEASE_SECONDS = 300.0
"""How long a port handed out stays reserved for its taker if nothing binds it."""


def lease_dir() -> Path:
    """One folder for every harness process on this machine, whatever its ``EVCHAOS_HOME``."""
    path = Path(os.environ.get("EVCHAOS_PORT_LEASES") or Path(tempfile.gettempdir()) / "evchaos-port-leases")
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(PermissionError):
            path.chmod(0o1777)  # every user's runs lease here (mkdir's mode is cut by the umask)
    return path


def in_fixed_layout(port: int) -> bool:
    """True for a port the compose stack's fixed layout may bind (see ``FIXED_LAYOUT``)."""
    return any(port in fixed for fixed in FIXED_LAYOUT)


def ephemeral_low(path: Path | None = None) -> int | None:
    """The first port of the kernel's range for outgoing connections (None: not known here)."""
    try:
        return int((path or EPHEMERAL_RANGE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(owner: str) -> bool:
    """True while the process a lease names runs (the same one, by its start time, where /proc says)."""
    pid, _, _ = owner.partition("-")
    if not pid.isdigit():
        return False
    if PROC.exists():
        return mark_alive(owner)
    try:  # no /proc (macOS): the pid alone
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(lease: Path, now: float) -> bool:
    """True once the process that took a lease has ended, or its time (if it gave one) is up."""
    try:
        owner, taken, hold = lease.read_text().split()
        return not _alive(owner) or (hold != "process" and now - float(taken) > float(hold))
    except FileNotFoundError:
        return False  # released meanwhile: the create decides
    except (OSError, ValueError):  # half-written by a taker that died mid-write: judge its age
        with contextlib.suppress(FileNotFoundError):
            return now - lease.stat().st_mtime > LEASE_SECONDS
        return False


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """The folder's one lock (a file every user may open: each user's runs lease here too)."""
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def lease(port: int, folder: Path | None = None, hold: float | None = LEASE_SECONDS) -> bool:
    """Take ``port`` for this process unless a live lease of another holds it: for ``hold`` seconds,
    or while this process lives (``None``: a cluster's ports, unbound whenever a fault stops their
    listener, must not go to another run before the cluster is gone).

    Check, reclaim and create happen under one lock on the folder: two processes reclaiming the
    same stale lease must not both win it."""
    folder = folder or lease_dir()
    path = folder / str(port)
    now = time.time()
    try:
        with _locked(folder):
            if path.exists():
                if not _stale(path, now):
                    return False
                path.unlink(missing_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w") as out:
                out.write(f"{identity(os.getpid()) or os.getpid()} {now:.3f} "
                          f"{'process' if hold is None else hold}\n")
            return True
    except (FileExistsError, PermissionError):
        return False  # another user's lease (their sticky folder), or theirs to judge


def free_ports(count: int, host: str = "127.0.0.1", hold: float | None = LEASE_SECONDS) -> list[int]:
    """``count`` distinct ports, each free now, below the ephemeral range, outside the fixed layout,
    and leased to this process
    (for ``hold`` seconds, or while it lives: see ``lease``).

    Where the range is not known the kernel chooses (``bind(0)``), still leased."""
    top = ephemeral_low()
    candidates = [port for port in range(LISTEN_LOW, top or 0) if not in_fixed_layout(port)]
    if len(candidates) <= 100 * count:
        candidates = []
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
            if not in_fixed_layout(port) and lease(port, folder, hold):
                ports.append(port)
        if len(ports) < count:
            raise OSError(f"only {len(ports)} of {count} free ports could be leased (leases in {folder})")
        return ports
