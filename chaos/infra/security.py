"""Kafka security for a local cluster: SASL on every listener, an authorizer, and who is who.

- Client listeners (one per role) take **SCRAM-SHA-512** only: each component gets a principal of
  its own (``add_principal``), created at run time through the admin API, so a scenario can name
  as many drivers and CPs as it likes without restarting the cluster.
- The broker-to-broker and controller listeners, and the harness's own role listener, take
  **SASL/PLAIN** with two static users from the broker's config: ``broker`` (the brokers between
  themselves) and ``harness`` (the harness's admin, readiness and observer clients). Both are super
  users; nothing else is. Static users because a KRaft controller cannot read SCRAM credentials
  before it has the metadata log that stores them.
- ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false``: a principal may do exactly
  what its ACLs say, and a client without credentials is not even connected.

Passwords are random per cluster and kept in its ``cluster.json`` (mode 0600): this is a test
cluster on loopback, and the harness is the only party that needs them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos.infra.topology import HARNESS_ROLE, RESERVED_LISTENERS

SCRAM = "SCRAM-SHA-512"
SAFE_PASSWORD = re.compile(r"[A-Za-z0-9_-]{16,128}")
"""What ``secrets.token_urlsafe`` makes: nothing that could end a quoted JAAS value."""
RESERVED_USERS = ("broker", "harness")
"""The static super users: no principal made at run time may take one of these names."""
PLAIN = "PLAIN"
BROKER_USER, HARNESS_USER = RESERVED_USERS
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


@dataclass(frozen=True)
class Credentials:
    """Who a Kafka client is: user, password and mechanism, and the settings kafka-python needs."""

    user: str
    password: str = field(repr=False)
    mechanism: str = SCRAM

    def client_settings(self) -> dict[str, str]:
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.user,
            "sasl_plain_password": self.password,
        }

    def to_dict(self) -> dict[str, str]:
        return {"user": self.user, "password": self.password, "mechanism": self.mechanism}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Credentials:
        return cls(str(raw["user"]), str(raw["password"]), str(raw.get("mechanism", SCRAM)))


@dataclass(frozen=True)
class ClusterSecurity:
    """The static secrets of one cluster: the brokers' own and the harness's."""

    broker_password: str = field(repr=False)
    harness_password: str = field(repr=False)

    @classmethod
    def generate(cls) -> ClusterSecurity:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24))

    @property
    def harness(self) -> Credentials:
        return Credentials(HARNESS_USER, self.harness_password, PLAIN)

    @property
    def broker(self) -> Credentials:
        return Credentials(BROKER_USER, self.broker_password, PLAIN)

    def _plain_jaas(self, login: Credentials) -> str:
        users = " ".join(f'user_{c.user}="{c.password}"' for c in (self.broker, self.harness))
        return f'{PLAIN_MODULE} required username="{login.user}" password="{login.password}" {users};'

    def broker_properties(self, roles: Iterable[str]) -> dict[str, str]:
        """The server.properties lines that switch every listener of a node to SASL, passwords inline."""
        props = sasl_properties(roles)
        for name in plain_listeners():
            props[f"listener.name.{name.lower()}.plain.sasl.jaas.config"] = self._plain_jaas(self.broker)
        return props

    def to_dict(self) -> dict[str, str]:
        return {"broker_password": self.broker_password, "harness_password": self.harness_password}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ClusterSecurity:
        passwords = str(raw["broker_password"]), str(raw["harness_password"])
        if not all(SAFE_PASSWORD.fullmatch(p) for p in passwords):
            raise ValueError("cluster.json: a password must be URL-safe base64 (it goes into a JAAS line "
                             "unquoted); remove the cluster folder to get new ones")
        return cls(*passwords)


def plain_listeners() -> list[str]:
    """The listeners that take PLAIN with the static users: the brokers' own two and the harness's."""
    return [*RESERVED_LISTENERS, HARNESS_ROLE.upper()]


def sasl_properties(roles: Iterable[str]) -> dict[str, str]:
    """Every SASL setting of a node but the static users' passwords: those go inline
    (``ClusterSecurity.broker_properties``) or in a JAAS file, one ``<listener>.KafkaServer`` section
    per PLAIN listener (``docker-compose.yml``, written by ``evcharge provision secrets``)."""
    plain = plain_listeners()
    scram_listeners = [role.upper() for role in roles if role != HARNESS_ROLE]
    props = {
        "listener.security.protocol.map": ",".join(
            f"{name}:SASL_PLAINTEXT" for name in (*plain, *scram_listeners)),
        "sasl.mechanism.controller.protocol": PLAIN,
        "sasl.mechanism.inter.broker.protocol": PLAIN,
        "authorizer.class.name": AUTHORIZER,
        "super.users": f"User:{BROKER_USER};User:{HARNESS_USER}",
        "allow.everyone.if.no.acl.found": "false",
    }
    for name in plain:
        props[f"listener.name.{name.lower()}.sasl.enabled.mechanisms"] = PLAIN
    for name in scram_listeners:
        props[f"listener.name.{name.lower()}.sasl.enabled.mechanisms"] = SCRAM
        props[f"listener.name.{name.lower()}.scram-sha-512.sasl.jaas.config"] = f"{SCRAM_MODULE} required;"
    return props
