"""Configuration shared by every process: flags first, environment second, defaults last.

Every knob that a test or an operator may need to turn (bootstrap servers, topic prefix, backoffs,
intervals) lives here once, so that the four processes read the same variable names and a newcomer
finds them in one file. The environment variables are listed in ``ENV``; ``evcharge <cmd> --help``
shows each flag with its variable.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

ENV = {
    "bootstrap": "EVCHARGE_BOOTSTRAP",
    "topic_prefix": "EVCHARGE_TOPIC_PREFIX",
    "bootstrap_timeout": "EVCHARGE_BOOTSTRAP_TIMEOUT",
    "backoff_min": "EVCHARGE_BACKOFF_MIN",
    "backoff_max": "EVCHARGE_BACKOFF_MAX",
    "reconnect_backoff_max": "EVCHARGE_RECONNECT_BACKOFF_MAX",
    "log_level": "EVCHARGE_LOG_LEVEL",
    "kafka_user": "EVCHARGE_KAFKA_USER",
    "kafka_mechanism": "EVCHARGE_KAFKA_SASL_MECHANISM",
}
PASSWORD_ENV = "EVCHARGE_KAFKA_PASSWORD"
PASSWORD_FILE_ENV = "EVCHARGE_KAFKA_PASSWORD_FILE"
"""The SASL password comes only from the environment or a file: a flag would show in ``ps``."""
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


class ConfigError(ValueError):
    """A flag or environment variable has a value we cannot use; the message says which and why."""


def env_default(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_number(name: str, default: float) -> float:
    """A positive number from the environment (``default`` if unset); ConfigError naming it if not.

    For bounds read once at import (``evcharge.wire``), where there is no flag to fall back to.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name}={text!r} must be a finite number greater than 0")
    return value


def tcp_port(text: str) -> int:
    """argparse type: a TCP port (0-65535), with an error that names the bad value."""
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)")
    return int(text)


def positive_float(text: str) -> float:
    """argparse type: a number > 0, with an error that names the bad value."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def add_env_option(
    parser: argparse.ArgumentParser, flag: str, env: str, default: str, help_text: str, **kwargs: object
) -> None:
    """Add ``flag`` whose default comes from ``env`` (then ``default``), and say so in ``--help``."""
    parser.add_argument(
        flag,
        default=env_default(env, default),
        help=f"{help_text} (env {env}, default {default!r})",
        **kwargs,  # type: ignore[arg-type]
    )


def add_driver_deadline_options(parser: argparse.ArgumentParser) -> None:
    """The driver's deadlines after Central's first answer, and how long finished requests stay.

    Generous on purpose: charges last seconds and telemetry comes every period (<= 1 s), so these
    fire only when a message really was lost (a session that never starts, a CP gone silent).
    """
    add_env_option(
        parser,
        "--start-deadline",
        "EVCHARGE_START_DEADLINE",
        "60",
        "seconds an authorized request may wait for its session to start",
        type=positive_float,
    )
    add_env_option(
        parser,
        "--charging-silence",
        "EVCHARGE_CHARGING_SILENCE",
        "60",
        "seconds a charge may go without telemetry or its ticket",
        type=positive_float,
    )
    add_env_option(
        parser,
        "--request-retention",
        "EVCHARGE_REQUEST_RETENTION",
        "3600",
        "seconds a finished request stays in memory (and in the API)",
        type=positive_float,
    )


@dataclass(frozen=True)
class KafkaSettings:
    """How a component reaches Kafka and how hard it retries.

    ``bootstrap_timeout`` bounds each constructor attempt (kafka-python waits 30 s by default, which
    would make a component deaf for 30 s); ``backoff_min``/``backoff_max`` bound the wait between
    attempts so a component reconnects within about ``backoff_max`` seconds of Kafka coming back.
    ``reconnect_backoff_max`` caps kafka-python's own wait before reconnecting to a broker it lost
    (its default is 30 s; a 1 s cap dominated the recovery from short outages, 0.25 s costs a few
    more connection attempts per second while a broker is away and nothing once it is back).
    """

    bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = "evcharge."
    bootstrap_timeout: float = 3.0
    backoff_min: float = 0.2
    backoff_max: float = 2.0
    reconnect_backoff_max: float = 0.25
    sasl_username: str = ""
    """Empty: PLAINTEXT. Set: SASL_PLAINTEXT as this principal (one per component, so ACLs can fence it)."""
    sasl_password: str = field(default="", repr=False)
    sasl_mechanism: str = "SCRAM-SHA-512"

    def topic(self, name: str) -> str:
        """The full topic name: the prefix is prepended as is (include your own separator)."""
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        """Consumer group ids carry the prefix too, so runs sharing a broker never share offsets."""
        return f"{self.topic_prefix}{name}"


def add_kafka_options(parser: argparse.ArgumentParser) -> None:
    """The flags every Kafka-speaking command takes."""
    add_env_option(parser, "--bootstrap", ENV["bootstrap"], "127.0.0.1:9092", "Kafka bootstrap servers")
    add_env_option(parser, "--topic-prefix", ENV["topic_prefix"], "evcharge.", "prefix of every topic")
    add_env_option(
        parser,
        "--bootstrap-timeout",
        ENV["bootstrap_timeout"],
        "3",
        "seconds per connection attempt",
        type=positive_float,
    )
    add_env_option(parser, "--backoff-min", ENV["backoff_min"], "0.2", "first retry delay, s", type=positive_float)
    add_env_option(parser, "--backoff-max", ENV["backoff_max"], "2", "largest retry delay, s", type=positive_float)
    add_env_option(
        parser,
        "--reconnect-backoff-max",
        ENV["reconnect_backoff_max"],
        "0.25",
        "largest wait before reconnecting to a lost broker (kafka-python's own), s",
        type=positive_float,
    )
    add_env_option(parser, "--log-level", ENV["log_level"], "INFO", "log level")
    add_env_option(parser, "--kafka-user", ENV["kafka_user"], "",
                   f"SASL user (empty: no authentication); the password comes from {PASSWORD_ENV} or the file "
                   f"named by {PASSWORD_FILE_ENV}, never from a flag")
    add_env_option(parser, "--kafka-sasl-mechanism", ENV["kafka_mechanism"], "SCRAM-SHA-512", "SASL mechanism",
                   choices=SASL_MECHANISMS)


def kafka_settings(args: argparse.Namespace) -> KafkaSettings:
    """Build settings from parsed flags, rejecting combinations argparse cannot check alone."""
    if not str(args.bootstrap).strip():
        raise ConfigError("--bootstrap / EVCHARGE_BOOTSTRAP is empty; give host:port[,host:port...]")
    for address in str(args.bootstrap).split(","):
        host, _, port = address.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"bootstrap address {address!r} is not host:port")
    if float(args.backoff_min) > float(args.backoff_max):
        raise ConfigError("--backoff-min must not exceed --backoff-max")
    return KafkaSettings(
        bootstrap=str(args.bootstrap),
        topic_prefix=str(args.topic_prefix),
        bootstrap_timeout=float(args.bootstrap_timeout),
        backoff_min=float(args.backoff_min),
        backoff_max=float(args.backoff_max),
        reconnect_backoff_max=float(args.reconnect_backoff_max),
        sasl_username=str(args.kafka_user),
        sasl_password=kafka_password(str(args.kafka_user)),
        sasl_mechanism=str(args.kafka_sasl_mechanism),
    )


def kafka_password(user: str) -> str:
    """The SASL password for ``user`` from the environment, or the file it names; ConfigError if missing."""
    if not user:
        return ""
    password, path = os.environ.get(PASSWORD_ENV, ""), os.environ.get(PASSWORD_FILE_ENV, "")
    if not password and path:
        try:
            password = Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{PASSWORD_FILE_ENV} {path!r}: {exc.strerror}") from None
    if not password:
        raise ConfigError(f"--kafka-user {user!r} needs a password: set {PASSWORD_ENV}, or {PASSWORD_FILE_ENV} "
                          "to a file holding it")
    return password
