"""Key files: 32 random bytes as hex, one line, mode 0600, re-read when they change on disk.

A component holds one key (its principal's) in a file that ``evcharge registry enroll`` writes.
``KeyFile`` notices a rotation (the file replaced) without a restart: it re-reads when the file's
identity or mtime changes, checked at most every ``RECHECK_S``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

KEY_BYTES = 32
RECHECK_S = 1.0


class KeyError_(ValueError):
    """A key file that cannot be used, with what to do about it (named so it never shadows KeyError)."""


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except UnicodeDecodeError:
        raise KeyError_(f"the key file {path} does not hold a hex key (it must be the one line "
                        "evcharge registry enroll wrote)") from None
    except FileNotFoundError:
        raise KeyError_(f"no key file {path}: enroll the component first (evcharge registry enroll ... "
                        f"--key-out {path})") from None
    except OSError as exc:
        raise KeyError_(f"cannot read the key file {path}: {exc.strerror}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyError_(f"the key file {path} does not hold a hex key (it must be the one line "
                        "evcharge registry enroll wrote)") from None
    if len(key) < 16:
        raise KeyError_(f"the key in {path} is {len(key)} bytes; at least 16 are needed")
    return key


def write_key(path: Path, key: bytes) -> None:
    """Write ``key`` atomically with mode 0600 (a reader sees the old key or the new one, never half)."""
    write_private(path, key.hex() + "\n")


def write_private(path: Path, text: str) -> None:
    """Write a secret atomically with mode 0600, its folder made 0700 if missing."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # a fresh name, never an existing file, never through a link someone planted in a shared folder
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(temporary, path)


ROTATION_GRACE_S = 60.0
"""How long a component still accepts its replaced key after reading a new one (the registry's grace):
what Central sealed before the rotation may still be in Kafka, or in Central's outbox."""


class KeyFile:
    """A component's key from ``path``, refreshed when the file is replaced (a rotation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = self._stat()
        self._key = read_key(path)
        self._previous: tuple[bytes, float] | None = None  # the replaced key, valid until (monotonic)
        self._checked = time.monotonic()

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except OSError:
            return (0, 0, 0)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def key(self, recheck: bool = False) -> bytes:
        """The current key; ``recheck`` looks at the file now (after a MAC that did not match)."""
        now = time.monotonic()
        if recheck or now - self._checked >= RECHECK_S:
            self._checked = now
            stamp = self._stat()
            if stamp != self._stamp:
                # mid-replacement or removed: keep the key we have until a good one is there
                with contextlib.suppress(KeyError_):
                    key = read_key(self.path)
                    if key != self._key:
                        self._previous = (self._key, now + ROTATION_GRACE_S)
                    self._key, self._stamp = key, stamp
        return self._key

    def keys(self, recheck: bool = False) -> list[bytes]:
        """The keys a record for this component may be sealed with: the current one, and the one it
        replaced for ``ROTATION_GRACE_S`` after the rotation was read."""
        current = self.key(recheck)
        if self._previous is not None and self._previous[1] > time.monotonic():
            return [current, self._previous[0]]
        return [current]
