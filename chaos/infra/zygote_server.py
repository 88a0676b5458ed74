"""The pre-imported interpreter's own side: import once, then fork a service per request.

A copy of this file is run as ``python evchaos_zygote.py <modules as JSON>`` from a folder that
holds nothing else to import, by the services' interpreter, which may not have the harness: it
needs nothing but the standard library. ``ps`` shows that command line for every service it forks.
It imports the modules it is given, then answers one JSON line per request on stdin:

- ``{"spawn": {"argv": [...], "module": M, "env": {...}, "cwd": D, "log": L}}`` forks a child that
  becomes ``python -m M argv...``: its own session, stdout and stderr appended to ``L``, stdin from
  /dev/null, ``env`` as its whole environment, ``D`` as its folder and ``sys.path[0]``.
  Answers ``{"pid": P, "id": N}``: N numbers the child for good; a pid is reused once the
  child is reaped (the kernel wraps at 32768 here, and brokers' threads use pids fast).
- ``{"status": N}`` answers ``{"code": C}``: None while child N runs, else its exit status the way
  ``subprocess`` says it (negative: the signal that ended it).

The child returns from ``serve`` and runs its module as the interpreter's main program would, so it
exits the same way (``atexit``, non-daemon threads joined, buffers flushed). The server stays
single-threaded: a fork copies only the forking thread, and a lock another thread held would stay
held in the child for ever.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import signal
import sys
import threading
from typing import Any


def preload(modules: list[str]) -> None:
    for module in modules:
        importlib.import_module(module)
    if threading.active_count() > 1:
        raise RuntimeError(f"importing {', '.join(modules)} started a thread; a fork would copy a "
                           f"process whose other threads are gone: start these services afresh")


class Children:
    """The children forked so far: the live ones by pid, the ended ones' statuses by number."""

    def __init__(self) -> None:
        self.live: dict[int, int] = {}
        self.ended: dict[int, int] = {}
        self.count = 0

    def add(self, pid: int) -> int:
        self.count += 1
        self.live[pid] = self.count
        return self.count

    def reap(self) -> None:
        """Collect every child that ended (a zombie until then, so its pid is not reused before)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            number = self.live.pop(pid, None)
            if number is not None:
                self.ended[number] = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    def status(self, number: int) -> int | None:
        return self.ended.get(number)


def fork_into_session() -> int:
    """Fork; return once the child leads a session of its own (0 in the child). Like ``subprocess``
    with ``start_new_session``: a signal sent to its group the moment its pid is known reaches it."""
    settled, told = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(settled)
        os.setsid()
        os.close(told)
        return 0
    os.close(told)
    os.read(settled, 1)  # end of file once the child has closed its end, after setsid
    os.close(settled)
    return pid


def become(request: dict[str, Any]) -> None:
    """In the child: the process ``python -m module`` would have been (the parts a fork does not
    give it fresh). The descriptors 0 and 1 were the server's pipes; they become /dev/null and
    the log, so nothing of the conversation leaks into the service."""
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the server's reader may hold requests it read ahead
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sys.argv = [request["module"], *request["argv"]]
    sys.path[0] = os.getcwd()  # what -m puts first
    sys.modules.pop(request["module"], None)  # runpy would warn that it is already imported, and run it anyway


def serve(stdin: Any, stdout: Any, children: Children) -> dict[str, Any] | None:
    """Answer requests until stdin closes (None: the server's end) or a fork returns in the child
    (its request: the caller runs it)."""
    for line in stdin:
        request = json.loads(line)
        children.reap()
        if "status" in request:
            answer: dict[str, Any] = {"code": children.status(request["status"])}
        else:
            spawn = request["spawn"]
            stdout.flush()
            pid = fork_into_session()
            if pid == 0:
                return spawn
            answer = {"pid": pid, "id": children.add(pid)}
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()
    return None


def main(argv: list[str]) -> None:
    try:
        preload(json.loads(argv[1]))
    except BaseException as exc:
        print(json.dumps({"refused": f"{type(exc).__name__}: {exc}"}), flush=True)
        sys.exit(3)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    spawn = serve(sys.stdin, sys.stdout, Children())
    if spawn is None:
        return
    become(spawn)
    runpy.run_module(spawn["module"], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv)
