"""A component's Kafka principal: SASL settings from flags and the environment, never a password flag."""

from __future__ import annotations

from pathlib import Path

import pytest

from evcharge.cli import build_parser
from evcharge.config import ConfigError, kafka_settings
from evcharge.kafka.settings import admin_config, common_config, consumer_config


def settings_for(*flags: str):
    return kafka_settings(build_parser().parse_args(["monitor", *flags]))


def test_without_a_user_nothing_authenticates(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("EVCHARGE_KAFKA_USER", raising=False)
    assert "security_protocol" not in common_config(settings_for(), "c")


def test_a_user_with_a_password_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EVCHARGE_KAFKA_PASSWORD", "pw-from-env")
    settings = settings_for("--kafka-user", "monitor-CP_001")
    config = common_config(settings, "c")
    assert config["security_protocol"] == "SASL_PLAINTEXT" and config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "monitor-CP_001" and config["sasl_plain_password"] == "pw-from-env"
    assert "pw-from-env" not in repr(settings), "the password stays out of logs and tracebacks"


def test_a_password_file_and_its_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("EVCHARGE_KAFKA_PASSWORD", raising=False)
    monkeypatch.setenv("EVCHARGE_KAFKA_USER", "central")
    with pytest.raises(ConfigError, match=r"EVCHARGE_KAFKA_PASSWORD.*EVCHARGE_KAFKA_PASSWORD_FILE"):
        settings_for()
    monkeypatch.setenv("EVCHARGE_KAFKA_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="missing"):
        settings_for()
    (tmp_path / "pw").write_text("from-a-file\n")
    monkeypatch.setenv("EVCHARGE_KAFKA_PASSWORD_FILE", str(tmp_path / "pw"))
    assert settings_for().sasl_password == "from-a-file"


def test_the_admin_client_gets_the_credentials_and_nothing_it_rejects(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EVCHARGE_KAFKA_PASSWORD", "pw")
    config = consumer_config(settings_for("--kafka-user", "central"), "g", "c", "earliest")
    admin = admin_config(config)
    assert admin["sasl_plain_username"] == "central" and "group_id" not in admin
    with pytest.raises(SystemExit):
        build_parser().parse_args(["monitor", "--kafka-password", "pw"])
