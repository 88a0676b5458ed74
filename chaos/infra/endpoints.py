"""Where the infrastructure answers: the one description every backend produces and every client reads.

``evchaos infra status --json`` prints exactly this, so a script, a compose file or another team's
suite can find the per-role bootstrap addresses without knowing which backend started them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class BrokerInfo:
    """One broker: its node id, its direct (un-proxied, inter-broker) address and its pid if local."""

    node_id: int
    internal: str
    pid: int | None = None


@dataclass(frozen=True)
class Endpoints:
    """Per-role bootstrap lists (each address is a Toxiproxy proxy), the Toxiproxy API and the brokers."""

    roles: dict[str, str]
    toxiproxy_api: str
    brokers: list[BrokerInfo] = field(default_factory=list)

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

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Endpoints:
        raw = json.loads(text)
        return cls(
            roles=dict(raw["roles"]),
            toxiproxy_api=raw["toxiproxy_api"],
            brokers=[BrokerInfo(**b) for b in raw.get("brokers", [])],
        )
