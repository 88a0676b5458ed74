"""A spec's set-up steps run before anything else, in the work folder; a failed one says why. Its
tear-down runs after; a service may run in a folder of its own; ``{db}`` is a path whatever the name."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from chaos.core.spec import ServiceSpec, SystemSpec
from chaos.core.system import SetupFailed, SystemRun, TeardownFailed
from chaos.infra.backends.base import Infra
from chaos.infra.endpoints import KafkaAccess
from chaos.infra.service import ServiceError


def plain_infra() -> object:
    return SimpleNamespace(endpoints=SimpleNamespace(secured=False, bootstrap=lambda role: "127.0.0.1:1",
                                                     harness_access=lambda: KafkaAccess("127.0.0.1:1")),
                           when_brokers_back=lambda hook: lambda: None)


def write(name: str, text: str) -> list[str]:
    return [sys.executable, "-c", f"import pathlib; pathlib.Path({name!r}).write_text({text!r})"]


def test_steps_run_in_order_in_the_work_folder_with_placeholders(tmp_path: Path):
    seen: list[str] = []
    spec = SystemSpec("toy", [ServiceSpec("svc", ["true"])], setup=[
        [sys.executable, "-c", "import sys, pathlib; pathlib.Path('made').write_text(sys.argv[1])", "{db}"],
        lambda values: seen.append(Path(values["workdir"], "made").read_text()),
    ])
    SystemRun(spec, plain_infra(), tmp_path)  # type: ignore[arg-type]
    assert seen == [str(tmp_path / "toy.db")]


def test_a_failed_step_fails_the_run_with_its_output_before_any_service_exists(tmp_path: Path):
    spec = SystemSpec("toy", [ServiceSpec("svc", ["true"])], setup=[
        [sys.executable, "-c", "import sys; print('schema v3 needs v2 first', file=sys.stderr); sys.exit(3)"],
    ])
    with pytest.raises(SetupFailed, match=r"set-up step 1 .* exited 3:\nschema v3 needs v2 first"):
        SystemRun(spec, plain_infra(), tmp_path)  # type: ignore[arg-type]


def test_hooks_run_each_time_brokers_come_back_until_unregistered():
    class Bare(Infra):
        def __init__(self) -> None:
            pass

    infra, calls = Bare(), []
    forget = infra.when_brokers_back(lambda: calls.append("reasserted"))
    infra.brokers_back()
    infra.brokers_back()
    forget()
    infra.brokers_back()
    assert calls == ["reasserted", "reasserted"]


def test_teardown_runs_once_after_close_and_a_failed_step_is_raised_after_the_later_ones(tmp_path: Path):
    spec = SystemSpec("toy", [ServiceSpec("svc", ["true"])], teardown=[
        [sys.executable, "-c", "import sys; print('cannot drop the database', file=sys.stderr); sys.exit(2)"],
        write("kept", "{db}"),
    ])
    run = SystemRun(spec, plain_infra(), tmp_path)  # type: ignore[arg-type]
    assert not (tmp_path / "kept").exists()
    with pytest.raises(TeardownFailed, match=r"tear-down step 1 .* exited 2:\ncannot drop the database"):
        run.close()
    assert (tmp_path / "kept").read_text() == str(tmp_path / "toy.db")
    run.close()  # once: the steps do not run again


def test_db_path_is_one_file_in_the_work_folder_whatever_the_system_is_called(tmp_path: Path):
    spec = SystemSpec("team-b/orders v2", [ServiceSpec("svc", ["true"])])
    run = SystemRun(spec, plain_infra(), tmp_path)  # type: ignore[arg-type]
    assert Path(run.values["db"]) == tmp_path / "team-b-orders-v2.db"


def test_a_service_runs_in_its_own_folder_and_keeps_its_log_in_the_work_folder(tmp_path: Path):
    (tmp_path / "app").mkdir()
    spec = SystemSpec("toy", [ServiceSpec("svc", [sys.executable, "-c", "import os; print(os.getcwd())"],
                                          cwd="{workdir}/app")])
    run = SystemRun(spec, plain_infra(), tmp_path)  # type: ignore[arg-type]
    service = run.services["svc"]
    service.start()
    service._wait_exit(10)
    assert service.log_path.parent == tmp_path
    assert service.log_tail().splitlines()[-1] == str(tmp_path / "app")


def test_a_missing_working_folder_is_named_before_anything_runs(tmp_path: Path):
    spec = SystemSpec("toy", [ServiceSpec("svc", ["true"], cwd="checkout")])
    service = SystemRun(spec, plain_infra(), tmp_path).services["svc"]  # type: ignore[arg-type]
    with pytest.raises(ServiceError, match=r"working directory .*/checkout does not exist"):
        service.start()
