"""Where the infrastructure answers: the one description every backend produces and every client reads.

``evchaos infra status --json`` prints exactly this, so a script, a compose file or another team's
suite can find the per-role bootstrap addresses without knowing which backend started them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from chaos.infra.security import Credentials
from chaos.infra.topology import HARNESS_ROLE


@dataclass(frozen=True)
class BrokerInfo:
    """One broker: its node id, its direct (un-proxied, inter-broker) address and its pid if local."""

    node_id: int
    internal: str
    pid: int | None = None


@dataclass(frozen=True)
class KafkaAccess:
    """How one of the harness's Kafka clients connects: bootstrap servers and security settings."""

    bootstrap: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    """kafka-python keyword arguments (``security_protocol``, ``sasl_*``); empty for PLAINTEXT."""

    @property
    def plain(self) -> tuple[str, str] | None:
        """(user, password) for a raw SASL/PLAIN login, or None when the cluster takes PLAINTEXT.

        The harness's own protocol calls log in with PLAIN only; a harness given another mechanism
        is told so here, rather than connecting unauthenticated and failing somewhere obscure."""
        mechanism = self.settings.get("sasl_mechanism")
        if mechanism is None:
            return None
        if mechanism != "PLAIN":
            raise ValueError(f"the harness's own Kafka calls log in with SASL/PLAIN, and its credentials here are "
                             f"{mechanism}: give the harness a PLAIN user on its listener")
        return str(self.settings["sasl_plain_username"]), str(self.settings["sasl_plain_password"])


@dataclass(frozen=True)
class Endpoints:
    """Per-role bootstrap lists (each address is a Toxiproxy proxy), the Toxiproxy API and the brokers,
    and, on a cluster with security on, the harness's credentials."""

    roles: dict[str, str]
    toxiproxy_api: str
    brokers: list[BrokerInfo] = field(default_factory=list)
    harness_credentials: Credentials | None = None

    def bootstrap(self, role: str) -> str:
        """The bootstrap servers a client of ``role`` must use: only proxies dedicated to that role."""
        try:
            return self.roles[role]
        except KeyError:
            known = ", ".join(sorted(self.roles))
            raise KeyError(f"unknown client role {role!r}; this cluster has roles: {known}") from None

    @property
    def internal_bootstrap(self) -> str:
        """Direct broker addresses, bypassing every proxy: for the harness's own admin calls only."""
        return ",".join(b.internal for b in self.brokers)

    @property
    def secured(self) -> bool:
        return self.harness_credentials is not None

    def harness_access(self, bootstrap: str | None = None) -> KafkaAccess:
        """The harness's clients: through the harness role's proxies (or ``bootstrap``), as the harness."""
        settings = self.harness_credentials.client_settings() if self.harness_credentials else {}
        return KafkaAccess(bootstrap or self.bootstrap(HARNESS_ROLE), settings)

    def to_json(self) -> str:
        raw = asdict(self)
        raw["harness_credentials"] = self.harness_credentials.to_dict() if self.harness_credentials else None
        return json.dumps(raw, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Endpoints:
        raw = json.loads(text)
        credentials = raw.get("harness_credentials")
        return cls(
            roles=dict(raw["roles"]),
            toxiproxy_api=raw["toxiproxy_api"],
            brokers=[BrokerInfo(**b) for b in raw.get("brokers", [])],
            harness_credentials=Credentials.from_dict(credentials) if credentials else None,
        )
