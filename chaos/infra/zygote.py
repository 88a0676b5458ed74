"""Pre-imported interpreters: a Python service forked from one that has already imported its code.

A Python service spends most of its start importing (about 0.2 CPU-s for one of the sample
network's, before it does anything), and a scenario starts seven to thirty of them, on two cores
shared with the brokers and the other workers. A spec that names its heavy modules
(``SystemSpec.preload``) gets, per harness process, one interpreter that imports them once and then
forks each service whose command is ``<that python> -m MODULE ...`` (``chaos.infra.zygote_server``).

What a service sees is what ``python -m`` would give it: its own pid and session, its environment,
its folder, its log; real signals reach it, its exit status is its own. What differs, and why it
is allowed: it shares the interpreter's start (``sys.flags``, the hash seed) with its siblings, and
``ps`` shows the zygote's command line for it (its pid file and its log still name it). A command
that is not ``python -m``, or whose interpreter-level environment (``PYTHON*``, ``LD_*``,
``FAKETIME*``) differs from the zygote's, is started afresh as before; so is everything when
``EVCHAOS_PRELOAD=off`` (the pytest option ``--chaos-preload off``), for a system that misbehaves
after a fork.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.infra import zygote_server
from chaos.infra.reaper import NAME_VAR, stat_fields

PRELOAD_VAR = "EVCHAOS_PRELOAD"
"""``off`` starts every service afresh, whatever its spec preloads."""
INTERPRETER_VARS = ("PYTHON", "LD_", "FAKETIME")
"""Environment variables an interpreter reads as it starts: a fork cannot change them."""
UNKNOWN_EXIT = 255
"""The exit status of a forked service whose zygote died before saying how it ended."""
START_TIMEOUT_S = 60.0


class ZygoteError(RuntimeError):
    """The zygote could not import its modules, or stopped answering."""


def interpreter_env(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(INTERPRETER_VARS)))


@dataclass
class Zygote:
    """One pre-imported interpreter: ``python`` with ``modules`` imported, forking on request."""

    python: str
    modules: tuple[str, ...]
    env: Mapping[str, str]
    log_path: Path
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _unread: bytes = field(default=b"", init=False, repr=False)

    def start(self) -> Zygote:
        """Start it and wait until its modules are imported; a failed import is a ``ZygoteError``
        with what the import said."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        server = self.log_path.parent / "evchaos_zygote.py"  # a copy: the harness may not be importable there
        server.write_text(Path(zygote_server.__file__).read_text())
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [self.python, str(server), json.dumps(list(self.modules))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, bufsize=0, env=dict(self.env),
                start_new_session=True, cwd="/",
            )
        hello = self._read(START_TIMEOUT_S)
        if "ready" not in hello:
            self.stop()
            raise ZygoteError(f"the interpreter preloading {', '.join(self.modules)} refused: "
                              f"{hello.get('refused', hello)} (see {self.log_path})")
        return self

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Close its pipe (it exits); the services it forked are the caller's to stop."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def spawn(self, module: str, args: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path) -> Forked:
        """Fork ``python -m module args...``."""
        answer = self._ask({"spawn": {"module": module, "argv": list(args), "env": dict(env),
                                      "cwd": str(cwd), "log": str(log)}})
        return Forked(int(answer["pid"]), int(answer["id"]), self)

    def status(self, pid: int, number: int) -> int | None:
        """None while child ``number`` (pid ``pid``) runs; its exit status once it ended. Asked by
        number: its pid may belong to another process once it is reaped. Should the zygote itself
        be gone, its children live on, adopted (and reaped) by init: then /proc says whether ``pid``
        runs, and an ended one's status is ``UNKNOWN_EXIT``."""
        try:
            code = self._ask({"status": number})["code"]
        except ZygoteError:
            state = (stat_fields(pid) or ["X"])[0]
            return None if state not in ("Z", "X") else UNKNOWN_EXIT
        return None if code is None else int(code)

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None:
                raise ZygoteError("the zygote is not running")
            try:
                proc.stdin.write(json.dumps(request).encode() + b"\n")
            except OSError as exc:
                raise ZygoteError(f"the zygote stopped answering: {exc}") from exc
            return self._read(10.0)

    def _read(self, timeout: float) -> dict[str, Any]:
        """The next answer line, read with a deadline (a zygote stuck importing must not hang the run)."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._unread:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
                raise ZygoteError(f"the zygote did not answer within {timeout:g} s; see {self.log_path}")
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise ZygoteError(f"the zygote exited (status {proc.poll()}); see {self.log_path}")
            self._unread += chunk
        line, self._unread = self._unread.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        return answer


@dataclass
class Forked:
    """A service forked by a zygote, with the part of ``subprocess.Popen`` a ``Service`` uses.

    Only the zygote may reap it, so only the zygote knows whether it ended: asking it by the
    child's number, rather than looking at the pid, cannot mistake a new process that reused the
    pid for ours."""

    pid: int
    number: int
    zygote: Zygote
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.status(self.pid, self.number)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            time.sleep(0.01)
        return code


class Zygotes:
    """The zygotes of this harness process, one per (interpreter, modules, interpreter environment),
    started on first use and kept across scenarios; stopped at exit."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._zygotes: dict[tuple[Any, ...], Zygote] = {}
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

    def launch(self, modules: Sequence[str], argv: Sequence[str], env: Mapping[str, str], cwd: Path,
               log: Path) -> Forked | None:
        """Fork the command from a zygote that preloads ``modules``; None if it cannot be (then it
        is to be started afresh): nothing to preload, preloading off, or not ``python -m``."""
        if not modules or os.environ.get(PRELOAD_VAR, "on") == "off" or len(argv) < 3 or argv[1] != "-m":
            return None
        return self._zygote(argv[0], tuple(modules), env).spawn(argv[2], argv[3:], env, cwd, log)

    def _zygote(self, python: str, modules: tuple[str, ...], env: Mapping[str, str]) -> Zygote:
        key = (python, modules, interpreter_env(env))
        with self._lock:
            zygote = self._zygotes.get(key)
            if zygote is None or not zygote.is_running():
                own_env = {**os.environ, **dict(interpreter_env(env)), NAME_VAR: "zygote"}  # no service's secrets
                zygote = Zygote(python, modules, own_env, self.home / f"zygote-{len(self._zygotes)}.log").start()
                self._zygotes[key] = zygote
            return zygote

    def stop_all(self) -> None:
        """Stop every zygote; their folder goes too unless a log has something to say."""
        with self._lock:
            zygotes, self._zygotes = list(self._zygotes.values()), {}
        for zygote in zygotes:
            zygote.stop()
        for path in self.home.glob("*") if self.home.is_dir() else ():
            if path.name == "evchaos_zygote.py" or (path.suffix == ".log" and path.stat().st_size == 0):
                path.unlink()
        with contextlib.suppress(OSError):
            self.home.rmdir()  # only if empty


_zygotes: Zygotes | None = None


def zygotes() -> Zygotes:
    """This process's zygotes (their logs in a folder of its own under the temp folder)."""
    global _zygotes
    if _zygotes is None:
        _zygotes = Zygotes(Path(tempfile.gettempdir()) / f"evchaos-zygotes-{os.getpid()}")
    return _zygotes
