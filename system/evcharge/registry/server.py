"""The registry's REST API over HTTPS (``evcharge registry serve``).

    GET    /v1/health                         liveness (no token)
    GET    /v1/principals[?kind=cp]           who is registered (never a key)
    POST   /v1/principals  {"kind", "id"}     enroll -> 201 {"kind", "id", "key"}; 409 if active
    POST   /v1/principals/<kind>/<id>/rotate  a new key -> 200 {"key", "previous_valid_s"}
    DELETE /v1/principals/<kind>/<id>         revoke -> 200; every key of it refused from now

Every call but health needs the operator's bearer token; the guard is the driver API's (Host,
Origin, JSON, size: ``webapi.guard``). Enrolments, rotations and revocations are audit records, as
is every refusal. HTTPS is required beyond loopback (``webapi.server.check_exposure``); a key crosses
the wire once, in the answer to its enrolment or rotation.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from evcharge.registry.store import ROTATION_GRACE_S, RegistryError, RegistryStore
from evcharge.supervise import Served
from evcharge.webapi.server import Access, Action, ApiError, JsonHandler, check_exposure, make_json_server, serve

log = logging.getLogger("evcharge.registry")
_ONE = re.compile(r"/v1/principals/([^/]+)/([^/]+)")
_ROTATE = re.compile(r"/v1/principals/([^/]+)/([^/]+)/rotate")


def make_server(store: RegistryStore, host: str, port: int, access: Access) -> ThreadingHTTPServer:
    check_exposure(host, access, "the registry")

    class Handler(JsonHandler):
        def route(self, method: str, path: str) -> Action:
            if method == "GET" and path == "/v1/principals":
                kinds = parse_qs(urlparse(self.path).query).get("kind")
                return lambda: (HTTPStatus.OK, [e.to_json() for e in store.entries(kinds[0] if kinds else None)])
            if method == "POST" and path == "/v1/principals":
                return self._enroll
            rotate, one = _ROTATE.fullmatch(path), _ONE.fullmatch(path)
            if method == "POST" and rotate is not None:
                kind, ident = rotate.groups()
                return lambda: self._change("rotate", kind, ident)
            if method == "DELETE" and one is not None:
                kind, ident = one.groups()
                return lambda: self._change("revoke", kind, ident)
            if method == "GET" and path == "/v1/health":
                return lambda: (HTTPStatus.OK, {"healthy": True, "principals": len(store.entries())})
            return super().route(method, path)

        def _enroll(self) -> tuple[HTTPStatus, Any]:
            body = self.json_body()
            kind, ident = body.get("kind"), body.get("id")
            if not isinstance(kind, str) or not isinstance(ident, str) or set(body) - {"kind", "id"}:
                raise ApiError(HTTPStatus.BAD_REQUEST, 'the body must be {"kind": "cp", "id": "CP_001"} '
                                                       "(kind: cp, driver, operator or central)")
            key = self._do("enroll", kind, ident, lambda: store.enroll(kind, ident))
            return HTTPStatus.CREATED, {"kind": kind, "id": ident, "key": key.hex()}

        def _change(self, action: str, kind: str, ident: str) -> tuple[HTTPStatus, Any]:
            if action == "rotate":
                key = self._do(action, kind, ident, lambda: store.rotate(kind, ident))
                return HTTPStatus.OK, {"kind": kind, "id": ident, "key": key.hex(),
                                       "previous_valid_s": ROTATION_GRACE_S}
            self._do(action, kind, ident, lambda: store.revoke(kind, ident))
            return HTTPStatus.OK, {"kind": kind, "id": ident, "status": "revoked"}

        def _do(self, action: str, kind: str, ident: str, change: Any) -> Any:
            where = f"{self.client_address[0]}:{self.client_address[1]}"
            try:
                result = change()
            except RegistryError as exc:
                if self.audit is not None:
                    self.audit.record(action, "refused", "operator", where, kind=kind[:32], id=ident[:64],
                                      reason=str(exc))
                status = (HTTPStatus.CONFLICT if exc.conflict else HTTPStatus.NOT_FOUND if exc.missing
                          else HTTPStatus.BAD_REQUEST)
                raise ApiError(status, str(exc)) from None
            if self.audit is not None:
                self.audit.record(action, "accepted", "operator", where, kind=kind, id=ident)
            log.info("registry %s", action, extra={"kind": kind, "id": ident})
            return result

    return make_json_server(Handler, host, port, access)


def serve_in_background(store: RegistryStore, host: str, port: int, access: Access) -> Served:
    return serve(make_server(store, host, port, access), "registry", host, access, log, "registry")
