import subprocess
import sys
import threading

import pytest

from evcharge.cli import build_parser, main

COMMANDS = ["central", "cp", "cp-control", "monitor", "driver", "command", "status", "audit"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: evcharge " + command in capsys.readouterr().out


def test_environment_is_the_fallback_for_flags(monkeypatch):
    monkeypatch.setenv("EVCHARGE_RESERVATION_TTL", "7.5")
    monkeypatch.setenv("EVCHARGE_TOPIC_PREFIX", "x.")
    args = build_parser().parse_args(["central"])
    assert (args.reservation_ttl, args.topic_prefix) == (7.5, "x.")
    assert build_parser().parse_args(["central", "--reservation-ttl", "3"]).reservation_ttl == 3


def test_reconnect_backoff_cap_defaults_to_a_quarter_second_and_can_be_set(monkeypatch):
    from evcharge.config import kafka_settings

    assert kafka_settings(build_parser().parse_args(["driver"])).reconnect_backoff_max == 0.25
    monkeypatch.setenv("EVCHARGE_RECONNECT_BACKOFF_MAX", "1")
    assert kafka_settings(build_parser().parse_args(["cp"])).reconnect_backoff_max == 1.0
    args = build_parser().parse_args(["central", "--reconnect-backoff-max", "0.1"])
    assert kafka_settings(args).reconnect_backoff_max == 0.1


@pytest.mark.parametrize(
    "argv",
    [
        ["central", "--reservation-ttl", "-1"],
        ["cp", "--health-port", "99999"],
        ["driver", "--variant", "nope"],
        ["command", "stop"],
        ["monitor", "--reconnect-backoff-max", "0"],
    ],
)
def test_bad_flags_are_refused_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_bad_bootstrap_is_a_clear_error(capsys):
    assert main(["command", "stop", "--all", "--bootstrap", "nonsense"]) == 2
    assert "not host:port" in capsys.readouterr().err


def test_status_without_database(tmp_path, capsys):
    assert main(["status", "--db", str(tmp_path / "none.db")]) == 1
    assert "no database" in capsys.readouterr().err


def test_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "evcharge.cli", "--help"], capture_output=True, text=True, check=True)
    assert "central" in out.stdout


def test_the_engine_state_file_is_a_flag_with_an_environment_fallback(monkeypatch):
    assert build_parser().parse_args(["cp"]).state == ""  # default: in memory only
    monkeypatch.setenv("EVCHARGE_CP_STATE", "/var/lib/cp.db")
    assert build_parser().parse_args(["cp"]).state == "/var/lib/cp.db"
    assert build_parser().parse_args(["cp", "--state", "here.db"]).state == "here.db"


def test_an_engine_state_file_that_cannot_be_opened_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from evcharge import logs

    monkeypatch.setattr(logs, "setup", lambda *_a, **_k: None)  # keep pytest's log handlers
    bad = tmp_path / "no-such-dir" / "cp.db"
    assert main(["cp", "--state", str(bad), "--health-port", "0"]) == 2
    assert "cannot open --state" in capsys.readouterr().err


def test_the_stop_grace_is_a_central_flag_with_an_environment_fallback(monkeypatch):
    assert build_parser().parse_args(["central"]).stop_grace == 5.0
    monkeypatch.setenv("EVCHARGE_STOP_GRACE", "2.5")
    assert build_parser().parse_args(["central"]).stop_grace == 2.5
    assert build_parser().parse_args(["central", "--stop-grace", "8"]).stop_grace == 8.0
    with pytest.raises(SystemExit):
        build_parser().parse_args(["central", "--stop-grace", "0"])


def test_central_is_given_the_stop_grace(tmp_path, monkeypatch):
    """The flag reaches ``CentralConfig`` (Central itself replaced: no Kafka here)."""
    from evcharge import logs, runners
    from evcharge.central import service

    seen = []

    class FakeCentral:
        def __init__(self, store, kafka, config, loop, auth=None):  # type: ignore[no-untyped-def]
            seen.append(config)
            self.stopping = threading.Event()
            store.close()

        def run(self) -> None:
            pass

    monkeypatch.setattr(logs, "setup", lambda *_a, **_k: None)
    monkeypatch.setattr(service, "Central", FakeCentral)
    monkeypatch.setattr(runners, "on_signal", lambda *_events: None)  # keep pytest's own handlers
    assert main(["central", "--db", str(tmp_path / "c.db"), "--stop-grace", "7.5", "--telemetry-timeout", "9"]) == 0
    assert (seen[0].stop_grace, seen[0].telemetry_timeout) == (7.5, 9.0)
