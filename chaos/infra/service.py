"""One lifecycle for every process the harness runs: brokers, Toxiproxy and the system's own services.

Like ducktape's services, each process is started, stopped, killed, paused, resumed, restarted and
cleaned the same way, whatever it is. Processes run in their own session (process group) so that a
signal reaches the whole tree, their output goes to one log file each, and their pid is written to a
pid file so that a later command (``evchaos infra down``) can find exactly what was started, never by
process name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chaos.infra.reaper import NAME_VAR, stat_fields
from chaos.infra.zygote import Forked

Launch = Callable[[Sequence[str], Mapping[str, str], Path, Path], "Forked | None"]
"""(argv, env, cwd, log) -> a process started some other way than exec (``chaos.infra.zygote``),
or None to start it afresh."""
ReadyCheck = Callable[[], bool]
"""True once ready; False, or any exception but a programming error, while not ready yet. A check
with a ``before_start()`` method has it called before every start (to forget what an earlier
incarnation showed: ``chaos.core.readiness.GroupReady``)."""
BROKEN_CHECK = (TypeError, NameError, AttributeError, ImportError)
"""Exceptions that say the readiness check itself is broken, not that the service is not ready yet:
waiting out the timeout on them would only hide the mistake behind "not ready". Anything else (a
refused connection, a table not made yet, a half-written file) counts as not ready, and a timeout
quotes the last one."""
START_MARK = "\n=== "
"""How each start's header begins in a service's log (the log is kept across restarts)."""


def since_last_start(log: str) -> str:
    """What the current incarnation wrote: the log after its last start header (the header names the
    command line, which may hold any text)."""
    start = log.rfind(START_MARK)
    if start < 0:
        return log
    end = log.find("\n", start + len(START_MARK))
    return "" if end < 0 else log[end + 1:]


class ServiceError(RuntimeError):
    """A service could not be started, did not get ready, or died."""


@dataclass
class Service:
    """A process with a name, a command, a log file and a pid file.

    ``ready`` is a cheap probe that returns True once the service answers a real request (a protocol
    round trip, an HTTP call); ``start`` waits on it with a deadline. ``data_dirs`` are removed by
    ``clean``; ``restart`` keeps them. ``cwd`` is the folder the process runs in (default: ``workdir``,
    where its log and pid file always go). ``launch``, if given, may start it without an exec
    (forked from a pre-imported interpreter); the lifecycle is the same either way.
    """

    name: str
    argv: Sequence[str]
    workdir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ready: ReadyCheck | None = None
    ready_timeout: float = 60.0
    data_dirs: Sequence[Path] = ()
    stop_timeout: float = 10.0
    cwd: Path | None = None
    launch: Launch | None = None
    _proc: subprocess.Popen[bytes] | Forked | None = field(default=None, init=False, repr=False)
    _log_handle: object | None = field(default=None, init=False, repr=False)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.workdir / f"{self.name}.pid"

    @property
    def pid(self) -> int | None:
        if self._proc is not None:
            return self._proc.pid
        return read_pid(self.pid_path)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, wait: bool = True) -> Service:
        """Start the process (a no-op if it is already running) and wait until it is ready."""
        if self.is_running():
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.cwd is not None and not self.cwd.is_dir():
            raise ServiceError(f"{self.name}: its working directory {self.cwd} does not exist; create it in the "
                               f"system's set-up or give an existing folder")
        prepare = getattr(self.ready, "before_start", None)
        if callable(prepare):
            prepare()
        log = open(self.log_path, "ab", buffering=0)  # noqa: SIM115 - owned by the service until stop
        command = " ".join(self.argv).replace("\n", "\\n")  # one header line, whatever the arguments hold
        log.write(f"{START_MARK}{time.strftime('%H:%M:%S')} start {command}\n".encode())
        env = {**os.environ, NAME_VAR: self.name, **self.env}  # and the run's mark (chaos.infra.lifeline)
        cwd = self.cwd or self.workdir
        try:
            forked = self.launch(list(self.argv), env, cwd, self.log_path) if self.launch else None
            self._proc = forked or subprocess.Popen(
                list(self.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )
        except (OSError, RuntimeError) as exc:  # RuntimeError: a zygote that could not preload (its reason)
            log.close()
            raise ServiceError(f"{self.name}: cannot run {self.argv[0]!r}: {exc}") from exc
        self._log_handle = log
        self.pid_path.write_text(str(self._proc.pid))
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the ready probe answers; fail early, with the log's tail, if the process dies or
        the probe itself is broken (``BROKEN_CHECK``); a timeout names the probe's last error."""
        if self.ready is None:
            return
        deadline = time.monotonic() + (timeout if timeout is not None else self.ready_timeout)
        delay, last_error = 0.02, ""
        while True:
            if not self.is_running():
                raise ServiceError(f"{self.name} exited before it was ready; log tail:\n{self.log_tail()}")
            try:
                if self.ready():
                    return
                last_error = ""  # a clean "not yet": an earlier error is not the story any more
            except BROKEN_CHECK as exc:
                raise ServiceError(f"{self.name}: its readiness check is broken: {type(exc).__name__}: {exc} (a "
                                   f"check returns False, or raises OSError, while the service is not ready)") from exc
            except Exception as exc:  # not ready yet: a refused connection, a table not made yet...
                last_error = f"; the check's last error: {type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{self.name} not ready after {timeout or self.ready_timeout:g} s{last_error}; "
                    f"log tail ({self.log_path}):\n{self.log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.05)  # cheap probes: a late look costs every scenario its start

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; resumes a paused process first."""
        pid = self.pid
        if pid is None or not pid_alive(pid):
            self._reap()
            return
        self.send_signal(signal.SIGCONT)
        self.send_signal(signal.SIGTERM)
        if not self._wait_exit(timeout if timeout is not None else self.stop_timeout):
            self.send_signal(signal.SIGKILL)
            self._wait_exit(5.0)
        self._reap()

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hooks, no flush."""
        if self.pid is not None and pid_alive(self.pid):
            self.send_signal(signal.SIGKILL)
            self._wait_exit(5.0)
        self._reap()

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets open but answers nothing. Returns once it is stopped."""
        self.send_signal(signal.SIGSTOP)
        self._wait_for(lambda: self.is_paused() or not self.is_running(), 5.0)

    def resume(self) -> None:
        self.send_signal(signal.SIGCONT)
        self._wait_for(lambda: not self.is_paused(), 5.0)

    def restart(self, hard: bool = False, wait: bool = True) -> None:
        """Stop (or kill, if ``hard``) and start again, keeping the data directories."""
        self.kill() if hard else self.stop()
        self.start(wait=wait)

    def clean(self) -> None:
        """Stop and remove the data directories (the log is kept for the report)."""
        self.stop()
        for path in self.data_dirs:
            shutil.rmtree(path, ignore_errors=True)

    # -- state -----------------------------------------------------------------------------------
    def is_running(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        pid = read_pid(self.pid_path)
        return pid is not None and pid_alive(pid)

    def exit_code(self) -> int | None:
        """How the process ended (negative: the signal that ended it); None while it runs or if unknown."""
        return self._proc.poll() if self._proc is not None else None

    def is_paused(self) -> bool:
        pid = self.pid
        return pid is not None and process_state(pid) == "T"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    # -- internals -------------------------------------------------------------------------------
    def send_signal(self, sig: signal.Signals) -> None:
        """Send a signal to the whole process group (a no-op if the process is gone: once reaped,
        its pid may be another process's)."""
        pid = self.pid
        if pid is None or (self._proc is not None and self._proc.poll() is not None):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)

    def _wait_exit(self, timeout: float) -> bool:
        return self._wait_for(lambda: not self.is_running(), timeout)

    @staticmethod
    def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _reap(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)
        self._proc = None
        if self._log_handle is not None:
            self._log_handle.close()  # type: ignore[attr-defined]
            self._log_handle = None
        self.pid_path.unlink(missing_ok=True)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def process_state(pid: int) -> str | None:
    """The one-letter state from /proc (R, S, T, Z...), or None if there is no such process."""
    fields = stat_fields(pid)
    return fields[0] if fields else None


def pid_alive(pid: int) -> bool:
    state = process_state(pid)
    return state is not None and state not in ("Z", "X")
