"""Principals and their ACLs on a secured cluster, made at run time by the harness (a super user).

A scenario names who its components are and what each may do, as data (``Grant``); the harness
creates a SCRAM user with a fresh random password per component and exactly those ACLs, hands each
component its ``Credentials``, and removes users and ACLs afterwards. Nothing is granted by
default: on a secured cluster a principal without a grant can connect and do nothing else.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chaos.infra.endpoints import KafkaAccess
from chaos.infra.kafka_client import require_kafka_python
from chaos.infra.records import admin_client
from chaos.infra.security import RESERVED_USERS, SCRAM, Credentials

OPERATIONS = ("read", "write", "create", "describe", "delete", "alter", "all")
RESOURCES = ("topic", "group", "cluster", "transactional_id")


class PrincipalError(RuntimeError):
    """A user or an ACL could not be made; the message names which and why."""


@dataclass(frozen=True)
class Grant:
    """One ACL: the principal may ``operation`` on the resource ``name`` (every name starting with
    it when ``prefixed``). Cluster grants take the name ``kafka-cluster``."""

    operation: str
    resource: str
    name: str
    prefixed: bool = False

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise ValueError(f"grant operation {self.operation!r}: use one of {', '.join(OPERATIONS)}")
        if self.resource not in RESOURCES:
            raise ValueError(f"grant resource {self.resource!r}: use one of {', '.join(RESOURCES)}")

    def acl(self, user: str) -> object:
        from kafka.admin import (
            ACL,
            ACLOperation,
            ACLPermissionType,
            ACLResourcePatternType,
            ResourcePattern,
            ResourceType,
        )

        pattern = ACLResourcePatternType.PREFIXED if self.prefixed else ACLResourcePatternType.LITERAL
        return ACL(principal=f"User:{user}", host="*", operation=ACLOperation[self.operation.upper()],
                   permission_type=ACLPermissionType.ALLOW,
                   resource_pattern=ResourcePattern(ResourceType[self.resource.upper()], self.name, pattern))


def add_principals(
    access: KafkaAccess, grants: Mapping[str, Sequence[Grant]], passwords: Mapping[str, Credentials] | None = None,
) -> dict[str, Credentials]:
    """A SCRAM user with a fresh password for every principal named, and its grants as ACLs.

    ``passwords``: the credentials made before, to assert again unchanged (both calls are upserts:
    an existing user keeps working, an existing ACL is not duplicated)."""
    require_kafka_python("making a secured cluster's principals (--chaos-security sasl)")
    from kafka.admin._users import UserScramCredentialUpsertion

    reserved = sorted(set(grants) & set(RESERVED_USERS))
    if reserved:
        raise PrincipalError(f"principal name(s) {reserved} are the cluster's own super users: name them otherwise")
    made = {user: (passwords or {}).get(user) or Credentials(user, secrets.token_urlsafe(18), SCRAM) for user in grants}
    admin = admin_client(access)
    try:
        if made:
            failed = {user: error for user, error in admin.alter_user_scram_credentials(
                [UserScramCredentialUpsertion(c.user, SCRAM, c.password) for c in made.values()]).items() if error}
            if failed:
                raise PrincipalError(f"SCRAM users not created: {failed}")
        acls = [grant.acl(user) for user, user_grants in grants.items() for grant in user_grants]
        if acls:
            result = admin.create_acls(acls)
            if result.get("failed"):
                raise PrincipalError(f"ACLs not created: {result['failed']}")
    finally:
        admin.close()
    return made


def remove_principals(access: KafkaAccess, users: Iterable[str]) -> None:
    """Delete the users and every ACL that names them."""
    require_kafka_python("making a secured cluster's principals (--chaos-security sasl)")
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )
    from kafka.admin._users import UserScramCredentialDeletion

    names = list(users)
    if not names:
        return
    admin = admin_client(access)
    try:
        admin.delete_acls([
            ACLFilter(principal=f"User:{user}", host="*", operation=ACLOperation.ANY,
                      permission_type=ACLPermissionType.ANY,
                      resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
            for user in names
        ])
        admin.alter_user_scram_credentials([UserScramCredentialDeletion(user, SCRAM) for user in names])
    finally:
        admin.close()
