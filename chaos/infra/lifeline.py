"""Nothing a run starts outlives it: a run's owner marks its children and keeps a watchdog beside it.

Every process the harness runs has its own session, so that a signal reaches its whole tree and a
Ctrl-C at the terminal reaches pytest, not the brokers. The price: when pytest dies without its
``finally`` (SIGKILL, SIGTERM, a second Ctrl-C during teardown, a cancelled CI job), nothing else
would stop them. ``finally`` and ``atexit`` cannot help there, and a parent-death signal only
reaches direct children (and fires when the *thread* that forked one ends). So ``activate``:

- puts the owner's mark on ``EVCHAOS_RUN`` in its own environment, so every process it starts from
  then on (pytest-xdist workers, services, brokers, a nested pytest) carries it, children of
  children too (``chaos.infra.reaper``);
- starts a watchdog in its own session that holds the read end of a pipe only the owner writes to.
  When the owner ends, however it ends, the pipe closes and the watchdog kills every process and
  container carrying the owner's mark, then exits.

``evchaos infra up`` never activates one: its cluster is meant to outlive the command.
``leftovers`` and ``gc`` find what an earlier run left when even its watchdog was killed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from chaos.infra import reaper
from chaos.infra.install import cache_home
from chaos.infra.reaper import LABEL, MARK_VAR, Marked


def watchdog_log() -> Path:
    """Where watchdogs say what a run left behind (one line per such run; nothing for a clean one)."""
    return cache_home() / "watchdog.log"


@dataclass
class Lifeline:
    """This process as a run's owner: its mark, the chain its children inherit, its watchdog."""

    mark: str
    chain: str
    watchdog: subprocess.Popen[bytes]


_active: Lifeline | None = None


def activate() -> Lifeline | None:
    """Make this process the owner of what it starts from now on (idempotent). None where there is
    no /proc to find marked processes in (macOS): there, only a run's own teardown stops them."""
    global _active
    if _active is not None:
        return _active
    mark = reaper.identity(os.getpid())
    if mark is None:
        return None
    chain = ",".join(filter(None, (os.environ.get(MARK_VAR), mark)))
    log = watchdog_log()
    log.parent.mkdir(parents=True, exist_ok=True)
    clean_env = {key: value for key, value in os.environ.items() if key not in (MARK_VAR, reaper.NAME_VAR)}
    watchdog = subprocess.Popen(  # -I: neither its folder nor the user's site on its path (stdlib only)
        [sys.executable, "-I", reaper.__file__, mark, str(log)], stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env, cwd="/", start_new_session=True,
    )
    os.environ[MARK_VAR] = chain  # after the watchdog: it must carry no mark, or a sweep would end it
    _active = Lifeline(mark, chain, watchdog)
    os.register_at_fork(after_in_child=_let_go)  # a fork that outlives us must not hold the pipe open
    return _active


def _let_go() -> None:
    """In a forked (not exec'd) child: close the owner's end of the watchdog's pipe. Exec'd children
    never get it (close-on-exec); a fork keeps every descriptor, and while it lived the watchdog
    would wait for it instead of the owner."""
    if _active is not None and _active.watchdog.stdin is not None:
        with contextlib.suppress(OSError):
            os.close(_active.watchdog.stdin.fileno())


def container_labels() -> dict[str, str]:
    """The labels a container started now must carry (none when no run owns this process)."""
    chain = os.environ.get(MARK_VAR)
    return {LABEL: chain} if chain else {}


@dataclass(frozen=True)
class Leftover:
    """What earlier runs left running: processes and containers whose run has ended."""

    processes: tuple[Marked, ...] = ()
    containers: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.processes or self.containers)

    def names(self) -> list[str]:
        return [p.describe() for p in self.processes] + [f"container {cid[:12]}" for cid in self.containers]

    def describe(self, limit: int = 6) -> str:
        names = self.names()
        more = f" and {len(names) - limit} more" if len(names) > limit else ""
        return ", ".join(names[:limit]) + more


def leftovers() -> Leftover:
    """Processes and containers marked by runs whose owner has ended (a live run's are not listed)."""
    processes = tuple(p for p in reaper.marked_processes() if p.orphaned)
    containers = tuple(cid for cid, chain in reaper.marked_containers()
                       if not all(reaper.mark_alive(mark) for mark in chain))
    return Leftover(processes, containers)


def gc(found: Leftover | None = None) -> Leftover:
    """Stop what earlier runs left; returns what was stopped."""
    found = leftovers() if found is None else found
    return Leftover(tuple(reaper.stop(found.processes)), tuple(reaper.remove_containers(list(found.containers))))


def warning(found: Leftover) -> str:
    """The line a run prints at its start when an earlier run left something behind."""
    return (f"WARNING: an earlier run left {len(found.names())} behind, sharing this machine's cores: "
            f"{found.describe()}. `evchaos infra gc` stops them.")
