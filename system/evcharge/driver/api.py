"""The driver's local HTTP/JSON control API (stdlib ``http.server``: no framework to install).

    POST /charge            {"cp_id": "CP_001" | null, "duration_s": 30}  -> 202 the request
    GET  /requests          every request of this driver
    GET  /requests/<id>     one request: state, cp, reservation, session, telemetry, ticket, reason
    POST /requests/<id>/stop  stop the charge (or cancel the request)  -> 202
    GET  /cps[?available=1] the CP table from Central (504 if Central does not answer in time)
    GET  /health            driver id, variant, kafka connectivity, outbox size, loops down;
                            200 if healthy, 503 while a loop of the driver is down

Errors are JSON too: ``{"error": "..."}`` with 400 (bad input), 404 (unknown path or request),
504 (Central did not answer), 500 (a bug: logged with its traceback; the server goes on), and the
guard's refusals (``evcharge.driver.guard``: 401 no or wrong token, 403 foreign Host or Origin, 411
/413 body, 415 not JSON), each written to the audit log. The accept loop runs supervised
(``supervise.Served``).
"""

from __future__ import annotations

import json
import logging
import re
import ssl
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from evcharge.audit import AuditLog
from evcharge.driver.core import Driver
from evcharge.driver.guard import Guard, Refused, body_length, is_loopback
from evcharge.supervise import Served

log = logging.getLogger("evcharge.driver.api")
CP_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


MAX_DURATION_S = 86400
"""The longest charge a request may ask for (what ``AuthorizationRequest`` accepts)."""


def parse_charge(body: dict[str, Any]) -> tuple[str | None, float | None]:
    """Validate a POST /charge body; ApiError(400) with the reason if it is wrong."""
    cp_id, duration = body.get("cp_id"), body.get("duration_s")
    if cp_id is not None and (not isinstance(cp_id, str) or not CP_ID.match(cp_id)):
        raise ApiError(HTTPStatus.BAD_REQUEST, f"cp_id must be null or a CP id like 'CP_001', not {cp_id!r}")
    if duration is not None and (
        not isinstance(duration, int | float) or isinstance(duration, bool) or not 0 < duration <= MAX_DURATION_S
    ):
        raise ApiError(
            HTTPStatus.BAD_REQUEST, f"duration_s must be a number of seconds in (0, {MAX_DURATION_S}], not {duration!r}"
        )
    unknown = set(body) - {"cp_id", "duration_s"}
    if unknown:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"unknown fields: {sorted(unknown)}")
    return cp_id, float(duration) if duration is not None else None


@dataclass(frozen=True)
class Access:
    """How the API is reached and who may use it: the token, TLS, and where refusals are recorded."""

    token: str
    token_source: str = "the driver's token file"
    tls_cert: str = ""
    tls_key: str = ""
    audit: AuditLog | None = None
    allow_plain: bool = False
    """Serve without TLS beyond loopback: only where that address is private (a container's own)."""


def check_exposure(host: str, access: Access) -> None:
    """``ValueError`` for an address the API must not serve on as configured."""
    if not is_loopback(host) and not access.tls_cert and not access.allow_plain:
        raise ValueError(f"refusing to serve the driver API on {host} without TLS: the token would cross the "
                         "network in clear. Give --api-tls-cert and --api-tls-key, or listen on 127.0.0.1")


def make_server(driver: Driver, host: str, port: int, access: Access) -> ThreadingHTTPServer:
    """The API's server, bound; ``ValueError`` for an address it must not serve on (``check_exposure``)."""
    check_exposure(host, access)
    tls = bool(access.tls_cert)
    guard: Guard

    class Handler(BaseHTTPRequestHandler):
        timeout = 10.0  # a client that stalls mid-request (or mid-handshake) gives its thread back

        def do_GET(self) -> None:
            self._answer(self._get)

        def do_POST(self) -> None:
            self._answer(self._post)

        def _refused(self, refusal: Refused) -> None:
            actor = (self.headers.get("Origin") or "unknown")[:200]
            where = f"{self.client_address[0]}:{self.client_address[1]}"
            log.warning("API request refused", extra={"rule": refusal.rule, "reason": str(refusal),
                                                        "path": self.path[:200], "source": where})
            if access.audit is not None:
                access.audit.record(f"api {self.command} {urlparse(self.path).path[:200]}", "refused", actor,
                                    where, rule=refusal.rule, reason=str(refusal),
                                    host=self.headers.get("Host", "")[:200])

        def _get(self) -> tuple[HTTPStatus, Any]:
            url = urlparse(self.path)
            if url.path == "/health":
                loops_down = driver.loops_down()
                return HTTPStatus.SERVICE_UNAVAILABLE if loops_down else HTTPStatus.OK, {
                    "driver_id": driver.config.driver_id,
                    "variant": driver.variant,
                    "healthy": not loops_down,
                    "loops_down": loops_down,
                    "kafka_connected": driver.producer.connected,
                    "outbox": driver.producer.pending(),
                }
            if url.path == "/requests":
                return HTTPStatus.OK, driver.snapshot()
            if url.path.startswith("/requests/"):
                return HTTPStatus.OK, self._request(url.path.split("/")[2])
            if url.path == "/cps":
                try:
                    cps = driver.list_cps()
                except TimeoutError as exc:
                    raise ApiError(HTTPStatus.GATEWAY_TIMEOUT, str(exc)) from None
                if parse_qs(url.query).get("available") in (["1"], ["true"]):
                    cps = [cp for cp in cps if cp["state"] == "available"]
                return HTTPStatus.OK, cps
            raise ApiError(HTTPStatus.NOT_FOUND, f"no such path {url.path}")

        def _post(self) -> tuple[HTTPStatus, Any]:
            path = urlparse(self.path).path
            if path == "/charge":
                cp_id, duration = parse_charge(self._json_body())
                return HTTPStatus.ACCEPTED, driver.request_charge(cp_id, duration).to_json()
            match = re.fullmatch(r"/requests/([^/]+)/stop", path)
            if match:
                self._request(match.group(1))
                return HTTPStatus.ACCEPTED, driver.stop(match.group(1)).to_json()
            raise ApiError(HTTPStatus.NOT_FOUND, f"no such path {path}")

        def _request(self, request_id: str) -> Any:
            try:
                return driver.snapshot(request_id)
            except KeyError:
                raise ApiError(HTTPStatus.NOT_FOUND, f"no request {request_id!r}") from None

        def _json_body(self) -> dict[str, Any]:
            length = body_length(self.headers)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError as exc:
                raise ApiError(HTTPStatus.BAD_REQUEST, f"body is not JSON: {exc}") from None
            if not isinstance(body, dict):
                raise ApiError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
            return body

        def _answer(self, action: Any) -> None:
            headers: dict[str, str] = {}
            try:
                guard.check(self.command, urlparse(self.path).path, self.headers)
                status, payload = action()
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

    server = ThreadingHTTPServer((host, port), Handler)
    guard = Guard(access.token, host, int(server.server_address[1]), access.token_source, tls)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(access.tls_cert, access.tls_key or None)
        # the handshake in the handler's thread, not in the accept loop a slow client would hold up
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def serve_in_background(driver: Driver, host: str, port: int, access: Access) -> Served:
    """Serve the API from a supervised loop; ``close()`` the result to stop it and free the port."""
    served = Served(make_server(driver, host, port, access), "driver-api").start()
    scheme = "https" if access.tls_cert else "http"
    log.info("driver API listening", extra={"url": f"{scheme}://{host}:{served.port}", "token": access.token_source})
    return served
