"""Find and stop what a run started, from the marks it left on its processes and containers.

Every process a run starts inherits ``EVCHAOS_RUN``: the run's owners, outermost first, each as
``pid-starttime`` (the start time makes a reused pid harmless). A process belongs to a run as long
as its environment says so, whatever became of its parent or its process group, so nothing needs
to be registered and nothing is missed when the owner dies between starting a process and writing
its pid down. Containers carry the same chain as the label ``evchaos.run``.

This module is also the watchdog (``python reaper.py MARK LOG``): it imports only the standard library
so that it runs as a plain script, with no package path to set up, beside any process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MARK_VAR = "EVCHAOS_RUN"
"""The environment variable every process of a run inherits: its owners' marks, comma-separated."""
NAME_VAR = "EVCHAOS_SERVICE"
"""The service a process was started as (brokers, proxies, the system's services), for messages."""
LABEL = "evchaos.run"
"""The container label carrying the same chain as ``MARK_VAR``."""
PROC = Path("/proc")


def identity(pid: int) -> str | None:
    """``pid-starttime`` of a live process (not a zombie), or None if there is no such process."""
    fields = stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return f"{pid}-{fields[19]}"  # field 22 of stat(5): start time, in clock ticks since boot


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None: no such process."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return stat.rsplit(")", 1)[1].split()


def mark_alive(mark: str) -> bool:
    """True while the owner a mark names still runs (the same process, not one that reused its pid)."""
    pid, _, _ = mark.partition("-")
    return pid.isdigit() and identity(int(pid)) == mark


@dataclass(frozen=True)
class Marked:
    """A process that carries a run's marks (``ident``: its own ``pid-starttime``)."""

    pid: int
    chain: tuple[str, ...]
    name: str
    ident: str = ""

    def describe(self) -> str:
        return f"{self.name} (pid {self.pid})"

    def running(self) -> bool:
        """True while this very process runs (not another that took its pid)."""
        now = identity(self.pid)
        return now is not None and (not self.ident or now == self.ident)

    @property
    def orphaned(self) -> bool:
        """True once any owner in its chain has ended: the run it belongs to is over."""
        return not all(mark_alive(mark) for mark in self.chain)


def _environ(pid: str) -> dict[bytes, bytes]:
    try:
        raw = (PROC / pid / "environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {key: value for key, _, value in pairs if key in (MARK_VAR.encode(), NAME_VAR.encode())}


def _command(pid: str) -> str:
    try:
        argv = (PROC / pid / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return os.path.basename(argv[0].decode(errors="replace")) or "?"


def marked_processes() -> Iterator[Marked]:
    """Every live process whose environment carries a run's marks (this process excluded)."""
    me = str(os.getpid())
    for entry in os.scandir(PROC):
        if not entry.name.isdigit() or entry.name == me:
            continue
        env = _environ(entry.name)
        chain = env.get(MARK_VAR.encode())
        ident = identity(int(entry.name)) if chain else None
        if not chain or ident is None:
            continue
        name = env.get(NAME_VAR.encode(), b"").decode(errors="replace") or _command(entry.name)
        yield Marked(int(entry.name), tuple(chain.decode().split(",")), name, ident)


def stop(processes: Iterable[Marked], grace: float = 5.0) -> list[Marked]:
    """SIGKILL each process (a paused one too) and wait up to ``grace`` s until each is gone.

    SIGKILL, not SIGTERM: the run they served is over, nobody reads what a clean stop would flush.
    Returns the processes that were still running when asked to stop."""
    stopped = [p for p in processes if p.running()]
    for process in stopped:
        if not process.running():
            continue  # it ended since the scan, and its pid may be someone else's by now
        try:
            os.kill(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    deadline = time.monotonic() + grace
    while any(p.running() for p in stopped) and time.monotonic() < deadline:
        time.sleep(0.05)
    return stopped


def of_run(mark: str) -> list[Marked]:
    return [p for p in marked_processes() if mark in p.chain]


def sweep_processes(mark: str, rounds: int = 5) -> list[Marked]:
    """Stop every process of the run ``mark`` names, again while new ones appear (a dying supervisor
    may have started one between the scan and the kill)."""
    stopped: list[Marked] = []
    for _ in range(rounds):
        found = of_run(mark)
        if not found:
            break
        stopped += stop(found)
    return stopped


# -- containers ---------------------------------------------------------------------------------
def marked_containers() -> list[tuple[str, tuple[str, ...]]]:
    """(id, chain) of every container labelled with a run's marks; empty without a docker CLI."""
    docker = shutil.which("docker")
    if docker is None:
        return []
    try:
        listed = subprocess.run(
            [docker, "ps", "-a", "--filter", f"label={LABEL}", "--format", f'{{{{.ID}}}} {{{{.Label "{LABEL}"}}}}'],
            capture_output=True, text=True, timeout=5,  # a hung daemon must not hold up every run's start
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    rows = (line.split(" ", 1) for line in listed.stdout.splitlines() if " " in line)
    return [(cid, tuple(chain.split(","))) for cid, chain in rows]


def remove_containers(ids: list[str]) -> list[str]:
    docker = shutil.which("docker")
    if not ids or docker is None:
        return []
    done = subprocess.run([docker, "rm", "-f", *ids], capture_output=True, text=True, timeout=120)
    return ids if done.returncode == 0 else [cid for cid in ids if cid in done.stdout]


# -- the watchdog ---------------------------------------------------------------------------------
def watch(mark: str, log: Path) -> int:
    """Block until the owner's end of our stdin closes (the owner ended, however), then stop its run
    and append what it had to stop to ``log`` (nothing when the owner had stopped everything).

    The owner holds the only write end of the pipe, so its closing is the one event that a SIGKILL
    of the owner cannot skip. Ctrl-C and a closed terminal are not ours to act on: the watchdog has
    its own session, and ignores them anyway."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):
        pass
    stopped = sweep_processes(mark)
    containers = remove_containers([cid for cid, chain in marked_containers() if mark in chain])
    if stopped or containers:
        what = [p.describe() for p in stopped] + [f"container {cid}" for cid in containers]
        with log.open("a") as out:
            out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} the run of pid {mark.split('-')[0]} ended and "
                      f"left {len(what)} behind; stopped: {', '.join(what)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(watch(sys.argv[1], Path(sys.argv[2])))
