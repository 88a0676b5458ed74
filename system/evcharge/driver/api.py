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
guard's refusals (``evcharge.webapi.guard``: 401 no or wrong token, 403 foreign Host or Origin, 411
/413 body, 415 not JSON), each written to the audit log. The request loop is ``webapi.server``'s;
the accept loop runs supervised (``supervise.Served``).
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from evcharge.driver.core import Driver
from evcharge.supervise import Served
from evcharge.webapi.server import Access, Action, ApiError, JsonHandler, check_exposure, make_json_server, serve

__all__ = ["Access", "ApiError", "check_exposure", "make_server", "parse_charge", "serve_in_background"]

log = logging.getLogger("evcharge.driver.api")
CP_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")

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


def make_server(driver: Driver, host: str, port: int, access: Access) -> ThreadingHTTPServer:
    """The API's server, bound; ``ValueError`` for an address it must not serve on (``check_exposure``)."""
    check_exposure(host, access)

    class Handler(JsonHandler):
        def route(self, method: str, path: str) -> Action:
            if method == "GET":
                return lambda: self._get(urlparse(self.path))
            if method == "POST":
                return lambda: self._post(path)
            return super().route(method, path)

        def _get(self, url: Any) -> tuple[HTTPStatus, Any]:
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

        def _post(self, path: str) -> tuple[HTTPStatus, Any]:
            if path == "/charge":
                cp_id, duration = parse_charge(self.json_body())
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

    return make_json_server(Handler, host, port, access)


def serve_in_background(driver: Driver, host: str, port: int, access: Access) -> Served:
    """Serve the API from a supervised loop; ``close()`` the result to stop it and free the port."""
    return serve(make_server(driver, host, port, access), "driver-api", host, access, log, "driver API")
