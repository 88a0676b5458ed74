"""A component's side of message authentication: it seals what it sends with its key and lets
through only what Central sealed for it; off (``NO_AUTH``) when no key file is configured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evcharge.audit import AuditLog
from evcharge.auth.gate import Gate, central_only
from evcharge.auth.keys import KeyFile
from evcharge.auth.seal import seal


@dataclass(frozen=True)
class ComponentAuth:
    key_file: KeyFile | None = None
    audit: AuditLog | None = None

    @property
    def on(self) -> bool:
        return self.key_file is not None

    def seal(self, raw: bytes) -> bytes:
        return seal(raw, self.key_file.key()) if self.key_file is not None else raw

    @property
    def sealer(self) -> Callable[[bytes], bytes] | None:
        """What a producer seals with (None: records go as encoded)."""
        return self.seal if self.key_file is not None else None

    def gate(self) -> Gate | None:
        """What the component's inbox checks: only Central speaks to a CP or a driver."""
        if self.key_file is None:
            return None
        return Gate(central_only(self.key_file), accepts={"central"}, audit=self.audit)


NO_AUTH = ComponentAuth()
