"""Central's side of message authentication: every key comes from the registry's database.

Central believes a record only if its sender's principal is active in the registry and the record
is sealed under one of its keys (``auth.gate``). What Central sends, it seals with its recipient's
key: a CP's commands with that CP's, a driver's events with that driver's, so no CP or driver can
speak as Central to anyone else. Its own records (clock ticks, dead letters, command results) go
under Central's own key (principal ``central:central``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from evcharge.audit import AuditLog
from evcharge.auth.claims import Principal, principal_of
from evcharge.auth.gate import Gate
from evcharge.auth.seal import seal
from evcharge.messages import Topics
from evcharge.registry.store import RegistryView

log = logging.getLogger("evcharge.central")

CENTRAL = Principal("central", "central")
RECIPIENTS = {Topics.CP_COMMANDS: "cp"}
"""Topic -> the kind of principal its records are for (the record key is its id); a driver's
own topic (``Topics.driver_events``) is for that driver."""
SENDERS = frozenset({"driver", "engine", "monitor", "operator", "central"})
ONLY = {"central": frozenset({"clock_tick"})}
"""What Central takes from itself on its inputs: its clock ticks, nothing else (a relay it sealed for
a driver, copied back into its inputs by that driver, would otherwise pass as Central's own)."""


class CentralAuth:
    def __init__(self, view: RegistryView, audit: AuditLog | None = None) -> None:
        self.view, self.audit = view, audit
        self.gate = Gate(self.keys, accepts=SENDERS, audit=audit, only=ONLY)
        self._unsealed_warned = False

    def keys(self, source: str, _recheck: bool = False) -> Sequence[bytes]:
        return self.view.keys(principal_of(source))  # always current: the view re-reads on any change

    def sealer(self, topic: str, record_key: str | None) -> Callable[[bytes], bytes]:
        """How to seal a record for ``topic`` (unprefixed) keyed ``record_key``.

        A CP's or a driver's record goes under that principal's key, never Central's own (which would
        let the recipient pass it off as Central's on Central's inputs); one with no key (revoked, never
        enrolled) goes unsealed, and its recipient refuses it. During a rotation's grace it goes under
        the replaced key, which the recipient still has whether or not it has read its new one."""
        kind = "driver" if Topics.driver_of(topic) else RECIPIENTS.get(topic)
        principal = Principal(kind, record_key) if kind and record_key else CENTRAL
        keys = self.view.keys(principal)
        if not keys:
            if not self._unsealed_warned:
                self._unsealed_warned = True
                log.error("no key for %s in the registry: its records go unsealed (and are refused)", principal)
            return lambda raw: raw
        key = keys[-1] if principal != CENTRAL else keys[0]
        return lambda raw: seal(raw, key)
