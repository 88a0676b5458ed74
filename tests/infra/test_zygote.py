"""Services forked from a pre-imported interpreter: the same lifecycle as a fresh ``python -m``, on
real processes and real signals."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaos.infra.service import Service, ServiceError, process_state
from chaos.infra.zygote import PRELOAD_VAR, Forked, Zygotes
from chaos.infra.zygote_server import Children

PROBE = """
import atexit, json, os, sys, time
from pathlib import Path
atexit.register(lambda: Path("atexit-ran").write_text("yes"))
Path("seen.json").write_text(json.dumps({
    "argv": sys.argv[1:], "cwd": os.getcwd(), "env": os.environ.get("PROBE_VALUE"), "pid": os.getpid(),
    "sid": os.getsid(0), "main": __name__, "path0": sys.path[0], "stdin": sys.stdin.read(),
    "preloaded": "email.mime.text" in sys.modules,
}))
print("probe up", flush=True)
if sys.argv[1:] == ["exit", "3"]:
    sys.exit(3)
if sys.argv[1:] == ["raise"]:
    raise ValueError("the probe's own error")
time.sleep(600)
"""


@pytest.fixture
def zygotes(tmp_path):
    pool = Zygotes(tmp_path / "zygotes")
    yield pool
    pool.stop_all()


@pytest.fixture
def app(tmp_path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "probe_mod.py").write_text(PROBE)
    return folder


def probe(tmp_path: Path, app: Path, zygotes: Zygotes, *args: str, modules=("email.mime.text",)) -> Service:
    log = tmp_path / "probe.log"
    return Service("probe", [sys.executable, "-m", "probe_mod", *args], tmp_path, env={"PROBE_VALUE": "42"},
                   cwd=app, ready=lambda: log.read_text().endswith("probe up\n"), ready_timeout=20,
                   launch=functools.partial(zygotes.launch, modules))


def seen(app: Path) -> dict:
    return json.loads((app / "seen.json").read_text())


def test_a_forked_service_sees_what_python_dash_m_would_give_it(tmp_path, app, zygotes):
    service = probe(tmp_path, app, zygotes, "--flag", "a b").start()
    try:
        assert isinstance(service._proc, Forked), "the service was started afresh, not forked"
        facts = seen(app)
        assert facts["argv"] == ["--flag", "a b"] and facts["main"] == "__main__"
        assert facts["cwd"] == str(app) and facts["path0"] == str(app)
        assert facts["env"] == "42" and facts["stdin"] == ""
        assert facts["pid"] == service.pid and facts["sid"] == service.pid, "not in a session of its own"
        assert facts["preloaded"], "the zygote's modules were not imported in the child"
        assert "probe up" in service.log_path.read_text()
    finally:
        service.stop()


def test_its_session_exists_when_its_start_returns(tmp_path, app, zygotes):
    """A fault may signal a service's group the moment it has a pid, before it ran a line."""
    service = probe(tmp_path, app, zygotes).start(wait=False)
    try:
        assert os.getpgid(service.pid) == service.pid
    finally:
        service.stop()


def test_real_signals_reach_it_and_its_exit_status_is_its_own(tmp_path, app, zygotes):
    service = probe(tmp_path, app, zygotes).start()
    pid = service.pid
    service.pause()
    assert process_state(pid) == "T"
    service.resume()
    service.kill()
    assert not service.is_running()
    (app / "seen.json").unlink()
    again = probe(tmp_path, app, zygotes).start()
    forked = again._proc
    again.send_signal(signal.SIGTERM)
    assert isinstance(forked, Forked) and forked.wait(timeout=10) == -signal.SIGTERM
    again.stop()


def test_it_exits_as_the_main_program_would(tmp_path, app, zygotes):
    service = probe(tmp_path, app, zygotes, "exit", "3").start(wait=False)
    forked = service._proc
    assert isinstance(forked, Forked) and forked.wait(timeout=10) == 3
    assert (app / "atexit-ran").read_text() == "yes", "atexit handlers did not run"
    service.stop()
    failing = probe(tmp_path, app, zygotes, "raise").start(wait=False)
    forked = failing._proc
    assert isinstance(forked, Forked) and forked.wait(timeout=10) == 1
    assert "ValueError: the probe's own error" in failing.log_path.read_text()


def test_one_zygote_serves_every_service_and_its_conversation_stays_out_of_their_logs(tmp_path, app, zygotes):
    first, second = probe(tmp_path, app, zygotes).start(), None
    try:
        second = Service("second", [sys.executable, "-m", "probe_mod"], tmp_path, cwd=app,
                         launch=functools.partial(zygotes.launch, ("email.mime.text",))).start()
        assert len(zygotes._zygotes) == 1
        assert first.pid != second.pid
        for service in (first, second):
            assert '"pid"' not in service.log_path.read_text(), "the zygote's answers leaked into a log"
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_what_cannot_be_forked_starts_afresh(tmp_path, app, zygotes, monkeypatch):
    script = Service("script", [sys.executable, str(app / "probe_mod.py")], tmp_path, cwd=app,
                     ready=lambda: "probe up" in (tmp_path / "script.log").read_text(), ready_timeout=20,
                     launch=functools.partial(zygotes.launch, ("email.mime.text",))).start()
    assert isinstance(script._proc, subprocess.Popen) and not seen(app)["preloaded"]
    script.stop()
    (app / "seen.json").unlink()
    monkeypatch.setenv(PRELOAD_VAR, "off")
    service = probe(tmp_path, app, zygotes).start()
    assert isinstance(service._proc, subprocess.Popen), f"{PRELOAD_VAR}=off still forked"
    service.stop()
    assert not zygotes._zygotes


def test_an_interpreter_setting_of_its_own_gets_a_zygote_of_its_own(tmp_path, app, zygotes):
    plain = probe(tmp_path, app, zygotes).start()
    other = Service("other", [sys.executable, "-m", "probe_mod"], tmp_path, cwd=app,
                    env={"PYTHONHASHSEED": "7"},
                    launch=functools.partial(zygotes.launch, ("email.mime.text",))).start()
    try:
        assert len(zygotes._zygotes) == 2, "a service with its own PYTHONHASHSEED shared another's interpreter"
    finally:
        plain.stop()
        other.stop()


def test_a_module_that_does_not_import_is_named(tmp_path, app, zygotes):
    service = probe(tmp_path, app, zygotes, modules=("no_such_module_here",))
    with pytest.raises(ServiceError, match="No module named 'no_such_module_here'"):
        service.start()


def test_a_module_that_starts_a_thread_as_it_imports_is_refused(tmp_path, app, zygotes, monkeypatch):
    (app / "threaded.py").write_text("import threading, time\nthreading.Thread(target=time.sleep, args=(60,), "
                                     "daemon=True).start()\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(app), os.environ.get("PYTHONPATH")])))
    service = probe(tmp_path, app, zygotes, modules=("threaded",))
    with pytest.raises(ServiceError, match="started a thread"):
        service.start()


def test_its_services_outlive_a_dead_zygote_and_are_still_seen_running(tmp_path, app, zygotes):
    service = probe(tmp_path, app, zygotes).start()
    try:
        (zygote,) = zygotes._zygotes.values()
        assert zygote._proc is not None
        zygote._proc.kill()
        zygote._proc.wait()
        assert service.is_running(), "a live service was taken for dead once its zygote was gone"
        service.stop()
        assert not service.is_running()
        (app / "seen.json").unlink()
        later = probe(tmp_path, app, zygotes).start()
        assert isinstance(later._proc, Forked) and later._proc.zygote is not zygote, "no new zygote"
        later.stop()
    finally:
        service.stop()


def test_a_reused_pid_is_not_taken_for_the_child_that_had_it():
    """The kernel hands an ended child's pid to a later process (here it wraps at 32768, and the
    brokers' threads take pids fast): a status asked by pid would give the new child the old one's
    exit, or the old child the new one's life."""
    children = Children()
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    first = children.add(pid)
    deadline = time.monotonic() + 10
    while children.status(first) is None and time.monotonic() < deadline:
        children.reap()
        time.sleep(0.01)
    second = children.add(pid)  # as if the kernel gave the next fork the same pid
    assert (children.status(first), children.status(second)) == (7, None)


def test_stopping_leaves_no_folder_behind_unless_a_log_has_something_to_say(tmp_path, app):
    quiet = Zygotes(tmp_path / "quiet")
    probe(tmp_path, app, quiet).start().stop()
    quiet.stop_all()
    assert not (tmp_path / "quiet").exists()
    loud = Zygotes(tmp_path / "loud")
    probe(tmp_path, app, loud).start().stop()
    (zygote,) = loud._zygotes.values()
    with zygote.log_path.open("a") as log:
        log.write("Traceback (most recent call last): what a crashed zygote leaves\n")
    loud.stop_all()
    assert [p.name for p in (tmp_path / "loud").iterdir()] == [zygote.log_path.name]
