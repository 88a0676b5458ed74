"""Who may use a driver's local API: a bearer token, a Host and an Origin it expects, JSON only.

The API charges an account and stops charges, and it listens where a browser can reach it. Each
rule stops one way in:

- **Host** must name the address the API listens on (127.0.0.1, localhost, [::1], or ``--api-host``):
  a page whose own host name resolves to 127.0.0.1 (DNS rebinding) sends its own name, and is refused.
- **Origin**, when a browser sends one, must be the API's own: a page from anywhere else is refused,
  even for requests a browser sends without asking (a ``text/plain`` POST from a form).
- **Content-Type** of a POST must be ``application/json``, which a page can only send cross-origin
  after a preflight this API never answers.
- **Authorization: Bearer TOKEN** on every path but ``/health`` (a supervisor's liveness probe): a
  process of another user, or a page that got past all of the above, holds no token.
- **Bodies** are at most ``MAX_BODY`` bytes, with a Content-Length.

Every refusal is answered with what was wrong and what to do, logged, and written to the audit log.
Where the token comes from (``--api-token``, else ``--api-token-file``, created with mode 0600 if it
does not exist) is ``load_token``'s business.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import secrets
import stat
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from pathlib import Path

MAX_BODY = 16 * 1024
"""The largest request body (a charge request is under 100 bytes)."""
OPEN_PATHS = frozenset({"/health"})
"""Paths answered without a token: liveness only, nothing about requests or accounts."""
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class Refused(Exception):
    """A request the guard turns away: its HTTP status and the reason, said to the caller."""

    def __init__(self, status: HTTPStatus, reason: str, rule: str) -> None:
        super().__init__(reason)
        self.status, self.rule = status, rule


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def load_token(token: str, token_file: Path) -> tuple[str, str]:
    """(token, where it came from): ``token`` if given, else the file's, else a new one written there.

    An existing file must be this user's and readable by nobody else (``PermissionError`` saying so
    otherwise): a token another user could read or have planted is no secret."""
    if token:
        return token, "--api-token"
    try:
        info = token_file.stat()
    except FileNotFoundError:
        info = None
    if info is not None:
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            raise PermissionError(f"the token file {token_file} must be yours with mode 0600 "
                                  f"(it is mode {stat.S_IMODE(info.st_mode):04o}, uid {info.st_uid}): "
                                  "fix it with chmod 600, or remove it to get a new token")
        existing = token_file.read_text().strip()
        if existing:
            return existing, str(token_file)
    token_file.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_urlsafe(32)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(fresh + "\n")
    return fresh, str(token_file)


@dataclass(frozen=True)
class Guard:
    """The rules for one API: its token, the host it listens on and the port it got."""

    token: str
    host: str
    port: int
    token_source: str = "the token file"
    tls: bool = False

    @property
    def hosts(self) -> frozenset[str]:
        names = {*LOOPBACK_NAMES, self.host if ":" not in self.host else f"[{self.host}]"}
        return frozenset(f"{name}:{self.port}" for name in names)

    @property
    def origins(self) -> frozenset[str]:
        scheme = "https" if self.tls else "http"
        return frozenset(f"{scheme}://{host}" for host in self.hosts)

    @property
    def any_host(self) -> bool:
        """Listening on every interface over TLS, which a rebinding page cannot pass (its name is not
        on the certificate): any Host. Without TLS (a container's own address) the names are checked."""
        return self.tls and self.host in ("0.0.0.0", "::", "")

    def check(self, method: str, path: str, headers: Message) -> None:
        """Raise ``Refused`` naming the first rule the request breaks."""
        host = headers.get("Host", "")
        if not host or (host not in self.hosts and not self.any_host):
            raise Refused(HTTPStatus.FORBIDDEN, f"Host {host[:100]!r} is not this API's address; call it as "
                          f"http{'s' if self.tls else ''}://127.0.0.1:{self.port}", "host")
        origin = headers.get("Origin")
        own = f"{'https' if self.tls else 'http'}://{host}"
        if origin is not None and origin not in self.origins and not (self.any_host and origin == own):
            raise Refused(HTTPStatus.FORBIDDEN, f"requests from pages of {origin!r} are refused: only this API's "
                          "own origin may call it from a browser", "origin")
        if method == "POST":
            kind = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if kind != "application/json":
                raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                              f"Content-Type must be application/json, not {kind or 'none'!r}", "content-type")
            body_length(headers)
        if path not in OPEN_PATHS:
            self.authorize(headers.get("Authorization"))

    def authorize(self, header: str | None) -> None:
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise Refused(HTTPStatus.UNAUTHORIZED, "missing token: send 'Authorization: Bearer TOKEN' "
                          f"(the token is in {self.token_source})", "token")
        if not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise Refused(HTTPStatus.UNAUTHORIZED, f"wrong token (the token is in {self.token_source})", "token")


def body_length(headers: Message) -> int:
    """The declared body length, within ``MAX_BODY``; ``Refused`` if absent, malformed or too large."""
    if headers.get("Transfer-Encoding"):
        raise Refused(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted: send a Content-Length",
                      "body")
    raw = headers.get("Content-Length")
    if raw is None:
        raise Refused(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length", "body")
    if not re.fullmatch(r"[0-9]{1,9}", raw.strip()):
        raise Refused(HTTPStatus.BAD_REQUEST, f"Content-Length {raw[:40]!r} is not a number", "body")
    length = int(raw)
    if length > MAX_BODY:
        raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                      f"a body of {length} bytes is over the limit of {MAX_BODY}", "body")
    return length
