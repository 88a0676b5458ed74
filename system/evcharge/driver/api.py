"""The driver's local HTTP/JSON control API (stdlib ``http.server``: no framework to install).

    POST /charge            {"cp_id": "CP_001" | null, "duration_s": 30}  -> 202 the request
    GET  /requests          every request of this driver
    GET  /requests/<id>     one request: state, cp, reservation, session, telemetry, ticket, reason
    POST /requests/<id>/stop  stop the charge (or cancel the request)  -> 202
    GET  /cps[?available=1] the CP table from Central (504 if Central does not answer in time)
    GET  /health            driver id, variant, kafka connectivity, outbox size, loops down;
                            200 if healthy, 503 while a loop of the driver is down

Errors are JSON too: ``{"error": "..."}`` with 400 (bad input), 404 (unknown path or request),
504 (Central did not answer), 500 (a bug: logged with its traceback; the server goes on).
The accept loop runs supervised (``supervise.Served``).
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from evcharge.driver.core import Driver
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


def make_server(driver: Driver, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(self._get)

        def do_POST(self) -> None:
            self._answer(self._post)

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
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError as exc:
                raise ApiError(HTTPStatus.BAD_REQUEST, f"body is not JSON: {exc}") from None
            if not isinstance(body, dict):
                raise ApiError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
            return body

        def _answer(self, action: Any) -> None:
            try:
                status, payload = action()
            except ApiError as exc:
                status, payload = exc.status, {"error": str(exc)}
            except Exception as exc:  # a bug: say so, log it, keep serving
                log.exception("API request failed", extra={"path": self.path[:200]})
                status, payload = HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {exc!r}"[:500]}
            data = json.dumps(payload, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http " + format, *args)

    return ThreadingHTTPServer((host, port), Handler)


def serve_in_background(driver: Driver, host: str, port: int) -> Served:
    """Serve the API from a supervised loop; ``close()`` the result to stop it and free the port."""
    served = Served(make_server(driver, host, port), "driver-api").start()
    log.info("driver API listening", extra={"url": f"http://{host}:{served.port}"})
    return served
