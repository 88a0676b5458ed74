"""One request loop for every JSON API: the guard first, then the route, every answer JSON.

A subclass of ``JsonHandler`` maps (method, path) to an action through ``route``; the action returns
(status, payload) or raises ``ApiError``. Errors are ``{"error": "..."}`` with their status; the
guard's refusals are logged and written to the audit log; a bug answers 500 with its repr and the
server goes on. TLS handshakes run in the handler's thread, not in the accept loop a slow client
would hold up.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlparse

from evcharge.audit import AuditLog
from evcharge.supervise import Served
from evcharge.webapi.guard import Guard, Refused, body_length, is_loopback

log = logging.getLogger("evcharge.api")

Action = Callable[[], tuple[HTTPStatus, Any]]


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Access:
    """How an API is reached and who may use it: the token, TLS, and where refusals are recorded."""

    token: str
    token_source: str = "the token file"
    tls_cert: str = ""
    tls_key: str = ""
    audit: AuditLog | None = None
    allow_plain: bool = False
    """Serve without TLS beyond loopback: only where that address is private (a container's own)."""


def check_exposure(host: str, access: Access, what: str = "the driver API") -> None:
    """``ValueError`` for an address the API must not serve on as configured."""
    if not is_loopback(host) and not access.tls_cert and not access.allow_plain:
        raise ValueError(f"refusing to serve {what} on {host} without TLS: the token would cross the "
                         "network in clear. Give --api-tls-cert and --api-tls-key, or listen on 127.0.0.1")


class JsonHandler(BaseHTTPRequestHandler):
    """The loop; a subclass says what each path does (``route``)."""

    timeout = 10.0  # a client that stalls mid-request (or mid-handshake) gives its thread back
    guard: ClassVar[Guard]
    audit: ClassVar[AuditLog | None] = None

    def route(self, method: str, path: str) -> Action:
        raise ApiError(HTTPStatus.NOT_FOUND, f"no such path {path}")

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def json_body(self) -> dict[str, Any]:
        length = body_length(self.headers)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as exc:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        return body

    def _refused(self, refusal: Refused) -> None:
        actor = (self.headers.get("Origin") or "unknown")[:200]
        where = f"{self.client_address[0]}:{self.client_address[1]}"
        log.warning("API request refused", extra={"rule": refusal.rule, "reason": str(refusal),
                                                    "path": self.path[:200], "source": where})
        if self.audit is not None:
            self.audit.record(f"api {self.command} {urlparse(self.path).path[:200]}", "refused", actor,
                              where, rule=refusal.rule, reason=str(refusal), host=self.headers.get("Host", "")[:200])

    def _answer(self, method: str) -> None:
        headers: dict[str, str] = {}
        try:
            path = urlparse(self.path).path
            self.guard.check(method, path, self.headers)
            status, payload = self.route(method, path)()
        except Refused as refusal:
            self._refused(refusal)
            status, payload = refusal.status, {"error": str(refusal)}
            if refusal.status == HTTPStatus.UNAUTHORIZED:
                headers["WWW-Authenticate"] = "Bearer"
            self.close_connection = True  # its body, if any, was not read
        except ApiError as exc:
            status, payload = exc.status, {"error": str(exc)}
        except Exception as exc:  # a bug: say so, log it, keep serving
            log.exception("API request failed", extra={"path": self.path[:200]})
            status, payload = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {exc!r}"[:500]}
        data = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http " + format, *args)


def serve(server: ThreadingHTTPServer, name: str, host: str, access: Access, said: logging.Logger,
          title: str) -> Served:
    """Serve ``server`` from a supervised loop (``name``) and say where, as "``title`` listening" on
    ``said``; ``close()`` the result to stop it and free the port."""
    served = Served(server, name).start()
    scheme = "https" if access.tls_cert else "http"
    said.info(f"{title} listening", extra={"url": f"{scheme}://{host}:{served.port}", "token": access.token_source})
    return served


def make_json_server(handler: type[JsonHandler], host: str, port: int, access: Access) -> ThreadingHTTPServer:
    """``handler``'s server, bound, with its guard and audit log set from ``access``."""
    tls = bool(access.tls_cert)
    server = ThreadingHTTPServer((host, port), handler)
    handler.guard = Guard(access.token, host, int(server.server_address[1]), access.token_source, tls)
    handler.audit = access.audit
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(access.tls_cert, access.tls_key or None)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server
