"""The check every consumer runs on every decoded record before it acts on it.

Three questions, cheapest first: does this component take messages from that kind of sender at all
(an engine only from Central); may that sender send this message as it stands (``claims``); is the
record sealed under the sender's key (``seal``). A record that fails any of them is refused: the
caller dead-letters it, and the gate writes one audit record (who it claimed to be, what it was,
where it was read, why it was refused). A refused record never reaches the handlers and its id is
never marked as processed, so a forgery cannot pre-empt the real message that carries its id.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from evcharge.audit import AuditLog
from evcharge.auth.claims import claim_problem, split_source
from evcharge.auth.keys import KeyFile
from evcharge.auth.seal import mac, signed_body
from evcharge.messages import Message

log = logging.getLogger("evcharge.auth")

Keys = Callable[[str, bool], Sequence[bytes]]
"""(source, recheck) -> the keys a record from ``source`` may be sealed under (none: not registered,
or revoked); ``recheck`` asks to look at the key store again, after a MAC that matched none."""


@dataclass(frozen=True)
class Refusal:
    reason: str
    source: str
    type: str


def central_only(key_file: KeyFile) -> Keys:
    """The keys of a component that hears only Central, which seals for it with the component's key
    (and, for a while after a rotation, with the one it replaced)."""
    return lambda source, recheck: key_file.keys(recheck) if source == "central" else []


class Gate:
    """Refuses records whose sender is not proven, and records each refusal in the audit log."""

    def __init__(
        self, keys: Keys, accepts: Collection[str] | None = None, audit: AuditLog | None = None,
        only: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """``accepts``: the sender roles this component hears at all (None: any); ``only``: role -> the
        only message types taken from it (Central takes nothing from itself but its clock ticks)."""
        self.keys, self.accepts, self.audit, self.only = keys, accepts, audit, only or {}
        self.refused = 0

    def refusal(self, raw: bytes | str | None, message: Message, where: str = "") -> str | None:
        """Why ``message`` (decoded from ``raw``) must be refused, or None when its sender is proven;
        each refusal is counted and audited."""
        reason = self.problem(raw, message)
        if reason is None:
            return None
        self.refused += 1
        if self.audit is not None:
            try:
                self.audit.record("message", "refused", message.envelope.source, where, type=message.type,
                                  message_id=message.message_id, reason=reason)
            except (OSError, ValueError):  # refused all the same: a consumer must not die on its log
                log.exception("could not write the refusal to the audit log %s", self.audit.path)
        return reason

    def proven(self, raw: bytes | str | None, message: Message) -> bool:
        """Whether the sender is proven, recording nothing (for a record the caller only peeks at)."""
        return self.problem(raw, message) is None

    def problem(self, raw: bytes | str | None, message: Message) -> str | None:
        source = message.envelope.source
        role, _ = split_source(source)
        if self.accepts is not None and role not in self.accepts:
            return f"{source} may not send to this component (it takes {', '.join(sorted(self.accepts))})"
        if role in self.only and message.type not in self.only[role]:
            return f"{source} may not send {message.type} to this component"
        return claim_problem(message) or self._mac_problem(raw, source)

    def _mac_problem(self, raw: bytes | str | None, source: str) -> str | None:
        data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw or b""
        signed = signed_body(data)
        if signed is None:
            return f"unsigned: a message from {source} must carry its MAC"
        body, given = signed
        keys: Sequence[bytes] = ()
        for recheck in (False, True):
            try:
                keys = self.keys(source, recheck)
            except Exception as exc:  # a key store that fails (SQLite busy, a bad row): refuse, go on
                log.exception("key lookup failed")
                return f"the keys of {source} could not be read: {exc!r}"[:300]
            if any(hmac.compare_digest(mac(key, body), given) for key in keys):
                return None
        if not keys:
            return f"{source} is not registered (or its key was revoked)"
        return f"bad MAC: not sealed with a key {source} may seal with"
