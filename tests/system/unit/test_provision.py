"""``evcharge provision secrets``: every secret a deployment needs, private, and made only once."""

from __future__ import annotations

import stat

import pytest

from evcharge.auth.acls import role_acls
from evcharge.cli import main
from evcharge.config import ConfigError
from evcharge.provision import components, make_secrets


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.suffix != ".db"}


def test_secrets_are_private_and_running_again_changes_nothing(tmp_path):
    make_secrets(tmp_path, "cp:CP_001,driver:D1")
    first = snapshot(tmp_path)
    assert {str(p) for p in first} >= {
        "keys/cp-CP_001.key", "keys/driver-D1.key", "kafka/server.jaas", "kafka/broker.password",
        "kafka/harness.password", "kafka/central.password", "kafka/cp-CP_001.password",
        "kafka/monitor-CP_001.password", "kafka/driver-D1.password"}
    assert all(stat.S_IMODE((tmp_path / p).stat().st_mode) == 0o600 for p in first)
    assert len({first[p] for p in first if p.suffix == ".password"}) == 6, "a password per user"
    make_secrets(tmp_path, "cp:CP_001,driver:D1")
    assert snapshot(tmp_path) == first
    make_secrets(tmp_path, "cp:CP_001,driver:D1,driver:D2")  # a new driver: its secrets only
    grown = snapshot(tmp_path)
    assert {str(p) for p in set(grown) - set(first)} == {"keys/driver-D2.key", "kafka/driver-D2.password"}
    assert all(grown[p] == first[p] for p in first)


def test_a_cp_is_an_engine_and_a_monitor_and_only_cps_and_drivers_are_components():
    assert components("cp:CP_001,driver:D1") == [
        ("central", "central"), ("cp", "CP_001"), ("monitor", "CP_001"), ("driver", "D1")]
    with pytest.raises(ConfigError, match="operator:ops"):
        components("operator:ops")


def test_each_role_reads_in_its_own_group_and_a_driver_reads_only_its_own_events():
    driver = role_acls("driver", "D1")
    reads = {(a.resource, a.name) for a in driver if a.operation == "read"}
    assert reads == {("topic", "evcharge.driver-events.D1"), ("group", "evcharge.driver-D1")}
    assert not any(a.operation == "read" for a in role_acls("monitor", "CP_001")), "a monitor reads nothing"
    with pytest.raises(ValueError, match="unknown role"):
        role_acls("operator")


def test_the_command_says_what_is_missing(capsys):
    assert main(["provision", "secrets"]) == 2
    assert "--dir (EVCHARGE_SECRETS_DIR) is required" in capsys.readouterr().err
