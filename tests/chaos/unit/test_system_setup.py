"""A spec's set-up steps run before anything else, in the work folder; a failed one says why."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from chaos.core.spec import ServiceSpec, SystemSpec
from chaos.core.system import SetupFailed, SystemRun
from chaos.infra.backends.base import Infra


def plain_infra() -> object:
    return SimpleNamespace(endpoints=SimpleNamespace(secured=False, bootstrap=lambda role: "127.0.0.1:1"),
                           when_brokers_back=lambda hook: lambda: None)


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
