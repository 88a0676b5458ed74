"""``evcharge provision``: every secret a secured deployment needs, made once, and its Kafka principals.

A deployment (``docker-compose.yml``) runs it twice, before and after Kafka:

- ``provision secrets --dir D --enroll cp:CP_001,driver:D1``: the registry's database and each
  component's message key (``registry init``), a Kafka password per component, and the broker's
  JAAS file with its two static PLAIN users: ``broker`` (between brokers and to the controller) and
  ``harness`` (the administrator: it makes the SCRAM users below, and a test harness connects as
  it). Nothing that exists is replaced, so running it again changes nothing.
- ``provision kafka --dir D --enroll ... --bootstrap HOST:PORT``: waits for Kafka (with progress),
  then, as ``harness``, makes each component's SCRAM-SHA-512 user with its password and exactly the
  ACLs of its role (``evcharge.auth.acls``). Upserts: running it again changes nothing either.

Components start whenever they like (before Kafka is a case the network survives): until their
user exists their logins fail and they retry, as they do while Kafka is away.

Layout of ``D`` (every file mode 0600, the folder 0700): ``registry.db``; ``keys/KIND-ID.key``;
``kafka/USER.password`` (``broker``, ``harness``, ``central``, ``cp-CP_001``, ``monitor-CP_001``,
``driver-D1``...); ``kafka/server.jaas``.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evcharge.auth.acls import principal_of, role_acls
from evcharge.auth.keys import write_private
from evcharge.config import ConfigError, add_env_option, positive_float

BROKER_USER, ADMIN_USER = "broker", "harness"
"""The static PLAIN users of the broker's JAAS file (the names the harness's own clusters use)."""
PLAIN_LISTENERS = ("controller", "internal", "harness")
"""The listeners that take PLAIN with the static users; every client role's listener takes SCRAM."""
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM = "SCRAM-SHA-512"


def add_provision_parser(sub: Any, epilog: str) -> None:
    text = "Make a secured deployment's secrets (keys, Kafka passwords, the broker's JAAS) and its Kafka principals."
    provision = sub.add_parser("provision", help=text, description=text, epilog=epilog)
    actions = provision.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, what in (("secrets", "write every secret missing from --dir (nothing existing is replaced)"),
                       ("kafka", "make each component's SCRAM user and ACLs on Kafka, as the administrator")):
        action = actions.add_parser(name, help=what, description=what, epilog=epilog)
        add_env_option(action, "--dir", "EVCHARGE_SECRETS_DIR", "", "the deployment's secrets folder")
        add_env_option(action, "--enroll", "EVCHARGE_ENROLL", "",
                       "the network's components: KIND:ID,... (cp:CP_001,driver:D1; Central is always in)")
    kafka = actions.choices["kafka"]
    add_env_option(kafka, "--bootstrap", "EVCHARGE_BOOTSTRAP", "127.0.0.1:9092",
                   "Kafka, at a listener that takes the administrator's PLAIN login")
    add_env_option(kafka, "--topic-prefix", "EVCHARGE_TOPIC_PREFIX", "evcharge.", "prefix of every topic")
    add_env_option(kafka, "--timeout", "EVCHARGE_PROVISION_TIMEOUT", "180", "seconds to wait for Kafka",
                   type=positive_float)


def components(enroll: str) -> list[tuple[str, str]]:
    """(role, id) of every Kafka-speaking component of ``--enroll``: a CP is an engine and a monitor."""
    from evcharge.registry.cli import parse_principals

    found: list[tuple[str, str]] = [("central", "central")]
    for kind, ident in parse_principals(enroll):
        if kind == "cp":
            found += [("cp", ident), ("monitor", ident)]
        elif kind == "driver":
            found.append(("driver", ident))
        elif kind != "central":
            raise ConfigError(f"--enroll {kind}:{ident}: a deployment's components are cp:ID and driver:ID")
    return found


def run_provision(args: argparse.Namespace) -> int:
    if not args.dir:
        raise ConfigError("--dir (EVCHARGE_SECRETS_DIR) is required: the folder the deployment's secrets live in")
    folder = Path(args.dir)
    if args.action == "secrets":
        make_secrets(folder, args.enroll)
        return 0
    apply_to_kafka(folder, components(args.enroll), args.bootstrap, args.topic_prefix, args.timeout)
    return 0


def make_secrets(folder: Path, enroll: str) -> None:
    """Every secret of the deployment that is missing (see the module doc)."""
    from evcharge.registry.cli import init_registry

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    init_registry(folder / "registry.db", enroll, folder / "keys")
    kafka = folder / "kafka"
    users = [BROKER_USER, ADMIN_USER, *(principal_of(role, ident) for role, ident in components(enroll))]
    made = [user for user in users if _password(kafka / f"{user}.password")]
    broker, admin = (read_password(kafka, user) for user in (BROKER_USER, ADMIN_USER))
    write_private(kafka / "server.jaas", jaas(broker, admin))
    print(f"secrets in {folder}: {len(users)} Kafka users ({len(made)} new), the broker's JAAS file", flush=True)


def jaas(broker: str, admin: str) -> str:
    """The broker's JAAS file: for each PLAIN listener, its static users and the broker's own login."""
    entry = (f'{PLAIN_MODULE} required username="{BROKER_USER}" password="{broker}" '
             f'user_{BROKER_USER}="{broker}" user_{ADMIN_USER}="{admin}";')
    return "".join(f"{listener}.KafkaServer {{\n  {entry}\n}};\n" for listener in PLAIN_LISTENERS)


def read_password(kafka: Path, user: str) -> str:
    try:
        return (kafka / f"{user}.password").read_text().strip()
    except FileNotFoundError:
        raise ConfigError(f"no password for Kafka user {user!r} in {kafka}: run `evcharge provision secrets` "
                          "with the same --dir and --enroll first") from None


def _password(path: Path) -> bool:
    """Write a fresh password to ``path`` unless it has one; True if it was made now."""
    if path.exists():
        return False
    write_private(path, secrets.token_urlsafe(24) + "\n")
    return True


def apply_to_kafka(folder: Path, members: Iterable[tuple[str, str]], bootstrap: str, prefix: str,
                   timeout: float) -> None:
    """Each component's SCRAM user and ACLs, made as the administrator once Kafka answers."""
    from kafka import admin as kafka_admin
    from kafka.admin._users import UserScramCredentialUpsertion

    kafka = folder / "kafka"
    wanted = [(principal_of(role, ident), role, ident) for role, ident in members]
    passwords = {user: read_password(kafka, user) for user, _, _ in wanted}
    admin = _admin(bootstrap, read_password(kafka, ADMIN_USER), timeout)
    try:
        failed = {user: error for user, error in admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion(user, SCRAM, passwords[user]) for user in passwords]).items() if error}
        if failed:
            raise ConfigError(f"Kafka refused the SCRAM users: {failed}")
        patterns = kafka_admin.ACLResourcePatternType
        acls = [kafka_admin.ACL(
            principal=f"User:{user}", host="*", operation=kafka_admin.ACLOperation[acl.operation.upper()],
            permission_type=kafka_admin.ACLPermissionType.ALLOW,
            resource_pattern=kafka_admin.ResourcePattern(
                kafka_admin.ResourceType[acl.resource.upper()], acl.name,
                patterns.PREFIXED if acl.prefixed else patterns.LITERAL))
            for user, role, ident in wanted for acl in role_acls(role, ident, prefix)]
        result = admin.create_acls(acls)
        if result.get("failed"):
            raise ConfigError(f"Kafka refused ACLs: {result['failed']}")
    finally:
        admin.close()
    print(f"kafka at {bootstrap}: {len(wanted)} SCRAM users and {len(acls)} ACLs in place", flush=True)


def _admin(bootstrap: str, password: str, timeout: float) -> Any:
    """An admin client logged in as the administrator, retried until Kafka answers (progress on stderr)."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    started = time.monotonic()
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="evcharge-provision",
                                    security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                                    sasl_plain_username=ADMIN_USER, sasl_plain_password=password,
                                    request_timeout_ms=10_000)
        except KafkaError as exc:
            waited = time.monotonic() - started
            if waited > timeout:
                raise ConfigError(f"Kafka at {bootstrap} did not answer the administrator within {timeout:g} s "
                                  f"(last: {exc!r}); is it up, and is this its PLAIN listener?") from None
            print(f"[provision] waiting for Kafka at {bootstrap} ({waited:.0f} s): {type(exc).__name__}",
                  file=sys.stderr, flush=True)
            time.sleep(2.0)
