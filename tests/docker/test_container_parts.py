"""The pieces the host-network docker backend is made of, on any machine: how a container is run,
and the Kafka image's launcher (run here with a stand-in ``java`` that records what it was given)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from chaos.infra.backends.docker.config import kafka_env
from chaos.infra.backends.docker.images import catalogue, images_offline, project_name
from chaos.infra.container import SERVICE_LABEL, container_name, container_service

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "docker" / "kafka" / "launch.sh"


def test_a_container_runs_on_the_host_network_with_its_folders_at_their_own_paths(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = container_service("broker-1", "img:1", ["arg"], tmp_path, mounts=[data],
                                env={"SECRET_PASSWORD": "hunter2"})
    argv = list(service.argv)
    assert argv[1:3] == ["run", "--rm"] and argv[argv.index("--network") + 1] == "host"
    assert f"{tmp_path}:{tmp_path}" in argv and f"{data}:{data}" in argv
    assert argv[-2:] == ["img:1", "arg"]
    assert "hunter2" not in " ".join(argv), "a secret must reach the container by name, not on the command line"
    assert argv[argv.index("--env") + 1] == "SECRET_PASSWORD" and service.env["SECRET_PASSWORD"] == "hunter2"
    assert f"{SERVICE_LABEL}=broker-1" in argv
    assert argv[argv.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert service.container == container_name(tmp_path, "broker-1") != container_name(data, "broker-1")


def fake_java(tmp_path: Path) -> dict[str, str]:
    """A ``java`` that appends its arguments to calls.log and copies the config it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {tmp_path}/calls.log\n'
        'for last in "$@"; do :; done\n'
        f'cp "$last" {tmp_path}/seen.properties\n'
    )
    java.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "TMPDIR": str(tmp_path)}


def launch(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(LAUNCHER)], env=env, capture_output=True, text=True, timeout=30)


def test_the_kafka_launcher_reads_settings_as_the_official_image_does_and_formats_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = kafka_env({"log.dirs": str(data), "a.b_c-d": "x=y", "listener.name.driver.scram-sha-512.sasl."
                          "jaas.config": 'M required username="u";'})
    env = {**fake_java(tmp_path), **settings}
    done = launch(env)
    assert done.returncode == 0, done.stderr
    config = dict(line.split("=", 1) for line in (tmp_path / "seen.properties").read_text().splitlines())
    assert config["a.b_c-d"] == "x=y" and config["log.dirs"] == str(data)
    assert config["listener.name.driver.scram-sha-512.sasl.jaas.config"] == 'M required username="u";'
    assert not any(key.endswith("opts") for key in config), "JVM options are not broker settings"
    format_call, start_call = (tmp_path / "calls.log").read_text().splitlines()
    assert "kafka.tools.StorageTool format" in format_call and f"-t {settings['CLUSTER_ID']}" in format_call
    assert "kafka.Kafka" in start_call and "-Xmx" in start_call
    data.mkdir()
    (data / "meta.properties").write_text("formatted\n")
    (tmp_path / "calls.log").unlink()
    assert launch(env).returncode == 0
    assert "StorageTool" not in (tmp_path / "calls.log").read_text(), "a formatted folder is not formatted again"


@pytest.mark.parametrize("missing", ["CLUSTER_ID", "KAFKA_LOG_DIRS"])
def test_the_kafka_launcher_says_what_is_missing(tmp_path: Path, missing: str) -> None:
    env = {**fake_java(tmp_path), **kafka_env({"log.dirs": str(tmp_path / "data")})}
    del env[missing]
    done = launch(env)
    assert done.returncode != 0 and missing in done.stderr


def test_every_image_has_a_dockerfile_with_its_base_as_an_argument() -> None:
    for image in catalogue().values():
        text = (ROOT / image.dockerfile).read_text()
        assert f"ARG BASE={image.base.public}" in text and "FROM ${BASE}" in text, image.dockerfile
    assert catalogue()["project"].tag == f"{project_name()}:local"


def test_the_image_mode_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVCHAOS_IMAGES", "public")
    assert images_offline() is False
    monkeypatch.setenv("EVCHAOS_IMAGES", "offline")
    assert images_offline() is True
    monkeypatch.setenv("EVCHAOS_IMAGES", "cloud")
    with pytest.raises(Exception, match="offline or public"):
        images_offline()


def test_pause_asks_again_while_the_runtime_cannot_freeze_and_only_then(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in ``docker`` on PATH: ``pause`` answers "unable to freeze" twice, then freezes."""
    from chaos.infra import container

    calls = tmp_path / "calls"
    fake = tmp_path / "docker"
    fake.write_text(f"""#!/bin/sh
echo "$@" >> {calls}
case "$1" in
  pause) n=$(grep -c '^pause' {calls}); if [ "$n" -le 2 ]; then
           echo "Error response from daemon: OCI runtime pause failed: unable to freeze: unknown" >&2
           exit 1; fi ;;
  inspect) echo false ;;
esac
""")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    service = container.ContainerService(name="broker-1", argv=["true"], workdir=tmp_path, container="x")
    monkeypatch.setattr(service, "is_running", lambda: True)
    service.pause()
    assert [line.split()[0] for line in calls.read_text().splitlines()].count("pause") == 3
    calls.write_text("")
    fake.write_text("#!/bin/sh\ncase \"$1\" in inspect) echo false ;;\n"
                    "*) echo 'no such container' >&2; exit 1 ;; esac\n")
    with pytest.raises(container.ServiceError, match="no such container"):
        service.pause()  # any other answer: at once
