"""One lifecycle for every process, on a real child process and real signals."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from chaos.infra.service import Service, ServiceError, process_state

SCRIPT = "import time, pathlib\npathlib.Path('started').write_text('x')\nprint('up', flush=True)\ntime.sleep(600)\n"


def sleeper(tmp_path: Path, **kw) -> Service:
    return Service("sleeper", [sys.executable, "-c", SCRIPT], tmp_path,
                   ready=lambda: (tmp_path / "started").exists(), ready_timeout=10, **kw)


def test_start_stop_writes_and_removes_pid_file(tmp_path):
    svc = sleeper(tmp_path).start()
    assert svc.is_running() and svc.pid_path.exists()
    svc.stop()
    assert not svc.is_running() and not svc.pid_path.exists()
    assert "up" in svc.log_path.read_text()


def test_kill_pause_resume(tmp_path):
    svc = sleeper(tmp_path).start()
    pid = svc.pid
    svc.pause()
    assert process_state(pid) == "T"
    svc.resume()
    assert process_state(pid) != "T"
    svc.kill()
    assert not svc.is_running()


def test_another_handle_finds_the_process_by_pid_file(tmp_path):
    first = sleeper(tmp_path).start()
    second = sleeper(tmp_path)
    assert second.is_running() and second.pid == first.pid
    second.stop()
    assert not first.is_running()


def test_restart_keeps_data_clean_removes_it(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep").write_text("1")
    svc = sleeper(tmp_path, data_dirs=[data]).start()
    old = svc.pid
    svc.restart(hard=True)
    assert svc.pid != old and (data / "keep").exists()
    svc.clean()
    assert not data.exists() and not svc.is_running()


def test_a_process_that_dies_fails_readiness_with_its_log(tmp_path):
    svc = Service("dies", [sys.executable, "-c", "print('boom: bad config'); raise SystemExit(3)"], tmp_path,
                  ready=lambda: False, ready_timeout=10)
    with pytest.raises(ServiceError, match="boom: bad config"):
        svc.start()


def test_a_missing_program_is_a_clear_error(tmp_path):
    with pytest.raises(ServiceError, match="cannot run"):
        Service("ghost", ["/nonexistent/prog"], tmp_path).start()


def test_a_broken_readiness_check_fails_at_once_naming_its_error(tmp_path):
    def broken() -> bool:
        return tmp_path.exist()  # type: ignore[attr-defined]  # the typo a spec author makes

    svc = Service("sleeper", [sys.executable, "-c", SCRIPT], tmp_path, ready=broken, ready_timeout=30)
    try:
        with pytest.raises(ServiceError, match="readiness check is broken: AttributeError"):
            svc.start()
    finally:
        svc.kill()


def test_a_timeout_quotes_the_checks_last_error(tmp_path):
    def refused() -> bool:
        raise ConnectionRefusedError("nothing on 127.0.0.1:1")

    svc = Service("sleeper", [sys.executable, "-c", SCRIPT], tmp_path, ready=refused, ready_timeout=0.5)
    try:
        with pytest.raises(ServiceError, match=re.escape("not ready after 0.5 s; the check's last error: "
                                                         "ConnectionRefusedError: nothing on 127.0.0.1:1")):
            svc.start()
    finally:
        svc.kill()
