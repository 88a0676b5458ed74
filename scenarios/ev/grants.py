"""The EV components' Kafka grants on a secured cluster: the system's own ACL table
(``evcharge.auth.acls``), as the harness's ``Grant``s, with its placeholders.

Topics carry the scenario's prefix (``{topic_prefix}``) and each consumer group is named after the
service (``{topic_prefix}{service}``), which is how the spec names the network's services.
"""

from __future__ import annotations

from chaos.infra.principals import Grant
from evcharge.auth.acls import role_acls


def grants_for(role: str, ident: str = "") -> tuple[Grant, ...]:
    """A component's grants (``ident``: its driver's or CP's id)."""
    return tuple(Grant(acl.operation, acl.resource, acl.name, acl.prefixed)
                 for acl in role_acls(role, ident, prefix="{topic_prefix}", group="{topic_prefix}{service}"))
