"""The MAC on the wire: the envelope's last member, over the record's bytes with it set to null.

``messages.encode`` writes ``"mac":null`` as the envelope's last member; ``seal`` replaces that null
by the hex HMAC-SHA256 of the whole record as encoded, and ``signed_body`` undoes it on the
receiving side, giving back exactly the bytes the sender's MAC covers. A record whose MAC is not
its very last member (re-encoded by another tool, spaces added) is simply not signed: refused, never
guessed at.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

UNSIGNED_TAIL = b'"mac":null}'
_SIGNED_TAIL = re.compile(rb'"mac":"([0-9a-f]{64})"\}\Z')
_TAIL_ROOM = len(b'"mac":"') + 64 + len(b'"}')


def mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def seal(raw: bytes, key: bytes) -> bytes:
    """``raw`` (as ``messages.encode`` writes it, unsigned) with its MAC under ``key`` in place."""
    if not raw.endswith(UNSIGNED_TAIL):
        raise ValueError("only an unsigned record as messages.encode writes it can be sealed "
                         f"(it must end with {UNSIGNED_TAIL.decode()})")
    return raw[: -len(b"null}")] + b'"' + mac(key, raw).encode() + b'"}'


def signed_body(raw: bytes) -> tuple[bytes, str] | None:
    """(the bytes the MAC covers, the MAC) of a sealed record; None if it carries no MAC in place."""
    found = _SIGNED_TAIL.search(raw, max(0, len(raw) - _TAIL_ROOM))
    if found is None:
        return None
    return raw[: found.start()] + UNSIGNED_TAIL, found.group(1).decode()


def verify(raw: bytes, keys: Iterable[bytes]) -> bool:
    """Whether ``raw`` is sealed under one of ``keys`` (constant-time comparison)."""
    signed = signed_body(raw)
    if signed is None:
        return False
    body, given = signed
    return any(hmac.compare_digest(mac(key, body), given) for key in keys)
