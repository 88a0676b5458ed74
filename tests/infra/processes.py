"""What a process tree is made of, read from /proc on its own terms: no marks, no pid files.

The lifeline tests judge the harness's cleanup with these, so they must not trust the harness's own
bookkeeping: a process counts as part of a run if it descends from the run's first process, and a
port counts as held if any such process has a listening socket on it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from chaos.infra.reaper import identity

PROC = Path("/proc")


def parents() -> dict[int, int]:
    """pid -> parent pid of every process now."""
    found: dict[int, int] = {}
    for entry in os.scandir(PROC):
        if entry.name.isdigit():
            try:
                stat = (PROC / entry.name / "stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def descendants(root: int) -> set[str]:
    """The identities (``pid-starttime``) of every live process below ``root``, at any depth."""
    tree = parents()
    below: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in tree.items() if parent in frontier} - below
        below |= frontier
    return {ident for ident in (identity(pid) for pid in below) if ident is not None}


def alive(identities: Iterable[str]) -> set[str]:
    """Those of ``identities`` still running (the same processes, not ones that reused a pid)."""
    return {ident for ident in identities if identity(int(ident.split("-")[0])) == ident}


def listening_ports(identities: Iterable[str]) -> set[int]:
    """TCP ports on which any of these processes listens."""
    inodes: set[str] = set()
    for ident in alive(identities):
        fd_dir = PROC / ident.split("-")[0] / "fd"
        try:
            links = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
        except OSError:
            continue
        inodes |= {link[8:-1] for link in links if link.startswith("socket:[")}
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        for line in (PROC / "net" / table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def port_listening(port: int) -> bool:
    for table in ("tcp", "tcp6"):
        for line in (PROC / "net" / table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def wait_until(condition: Callable[[], object], timeout: float, what: Callable[[], str]) -> None:
    """Poll ``condition`` until it is true; at the deadline fail saying ``what()`` (what is still wrong)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s: {what()}")
        time.sleep(0.05)
