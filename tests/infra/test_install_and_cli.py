"""`evchaos infra install|up|status|down` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.infra import install as installer
from chaos.infra.service import pid_alive


def evchaos(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaos.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_second_install_does_nothing_and_starts_no_tool(monkeypatch):
    installer.install()  # whatever is missing gets installed (CI installs before the tests)

    def forbidden(*a, **k):
        raise AssertionError(f"an installed cache must not run {a[0]}")

    monkeypatch.setattr(installer.subprocess, "Popen", forbidden)
    monkeypatch.setattr(installer.subprocess, "run", forbidden)
    installer.install()


@pytest.mark.parametrize("tool,needs", [("java", "Java 17"), ("mvn", "Maven"), ("go", "Go 1.23")])
def test_missing_tool_names_the_tool_and_version(tmp_path, tool, needs):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for other in {"java", "mvn", "go"} - {tool}:  # the others exist; only `tool` is missing
        real = installer.shutil.which(other)
        assert real, f"{other} is needed on this machine"
        (bin_dir / other).symlink_to(real)
    result = evchaos("infra", "install", env={"PATH": str(bin_dir), "EVCHAOS_HOME": str(tmp_path / "home")})
    assert result.returncode == 2
    assert f"`{tool}` not found" in result.stderr and needs in result.stderr


@pytest.mark.integration
def test_up_status_down_leaves_no_process(tmp_path: Path):
    workdir = tmp_path / "cluster"
    up = evchaos("infra", "up", "--workdir", str(workdir), "--roles", "driver,central,cp,monitor")
    assert up.returncode == 0, up.stderr
    status = evchaos("infra", "status", "--json", "--workdir", str(workdir))
    doc = json.loads(status.stdout)
    assert set(doc["roles"]) == {"driver", "central", "cp", "monitor", "harness"}, "the roles given, plus the harness's"
    assert doc["toxiproxy_api"].startswith("http://127.0.0.1:")
    assert len(doc["brokers"]) == 1
    pids = [p["pid"] for p in doc["processes"].values()]
    assert all(p["running"] for p in doc["processes"].values()) and all(pid_alive(p) for p in pids)
    down = evchaos("infra", "down", "--workdir", str(workdir), "--clean")
    assert down.returncode == 0, down.stderr
    assert not any(pid_alive(p) for p in pids), "down left processes behind"


def test_status_without_a_cluster_says_how_to_start_one(tmp_path):
    result = evchaos("infra", "status", "--workdir", str(tmp_path / "none"))
    assert result.returncode == 2 and "evchaos infra up" in result.stderr
