"""A small typed Toxiproxy client with a timeout on every call.

Why not toxiproxy-python: its last release is from 2019, it sets no request timeout (a hung control
call would hang a whole suite), and its endpoint is a class-global, so two servers cannot be driven
from one process. This client is one class over the documented HTTP API, built on the standard
library, with errors that say which call failed and what the server answered.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Literal

Stream = Literal["upstream", "downstream"]


class ToxiproxyError(RuntimeError):
    """A Toxiproxy API call failed: the message names the call and carries the server's answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: Stream = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.attributes,
        }

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Toxic:
        return cls(raw["name"], raw["type"], raw.get("stream", "downstream"), raw.get("toxicity", 1.0),
                   dict(raw.get("attributes") or {}))


@dataclass(frozen=True)
class Proxy:
    name: str
    listen: str
    upstream: str
    enabled: bool = True
    toxics: tuple[Toxic, ...] = ()

    def to_api(self) -> dict[str, Any]:
        return {"name": self.name, "listen": self.listen, "upstream": self.upstream, "enabled": self.enabled}

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Proxy:
        toxics = tuple(Toxic.from_api(t) for t in raw.get("toxics") or [])
        return cls(raw["name"], raw["listen"], raw["upstream"], raw.get("enabled", True), toxics)


class ToxiproxyClient:
    """Drives one Toxiproxy server, e.g. ``ToxiproxyClient("http://127.0.0.1:8474")``."""

    def __init__(self, api: str, timeout: float = 5.0) -> None:
        self.api = api.rstrip("/")
        self.timeout = timeout

    # -- server ----------------------------------------------------------------------------------
    def version(self) -> str:
        """The server's version, e.g. ``2.12.0`` (older servers answer plain text, newer JSON)."""
        text = str(self._call("GET", "/version", raw=True)).strip()
        try:
            return str(json.loads(text)["version"])
        except (ValueError, KeyError, TypeError):
            return text

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset")

    # -- proxies ---------------------------------------------------------------------------------
    def proxies(self) -> dict[str, Proxy]:
        return {name: Proxy.from_api(raw) for name, raw in self._call("GET", "/proxies").items()}

    def get(self, name: str) -> Proxy:
        return Proxy.from_api(self._call("GET", f"/proxies/{name}"))

    def create(self, proxy: Proxy) -> Proxy:
        return Proxy.from_api(self._call("POST", "/proxies", proxy.to_api()))

    def populate(self, proxies: list[Proxy]) -> list[Proxy]:
        """Create or replace many proxies in one call (idempotent, unlike ``create``)."""
        answer = self._call("POST", "/populate", [p.to_api() for p in proxies])
        return [Proxy.from_api(raw) for raw in answer["proxies"]]

    def set_enabled(self, name: str, enabled: bool) -> None:
        """A disabled proxy closes its listener and every open connection: the link is down."""
        self._call("POST", f"/proxies/{name}", {"enabled": enabled})

    def enable(self, name: str) -> None:
        self.set_enabled(name, True)

    def disable(self, name: str) -> None:
        self.set_enabled(name, False)

    def delete(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    # -- toxics ----------------------------------------------------------------------------------
    def toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic.from_api(raw) for raw in self._call("GET", f"/proxies/{proxy}/toxics")]

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        try:
            return Toxic.from_api(self._call("POST", f"/proxies/{proxy}/toxics", toxic.to_api()))
        except ToxiproxyError as exc:  # the server's answer names no type: say which toxic it refused
            raise ToxiproxyError(f"{exc} (toxic {toxic.name!r} of type {toxic.type!r})", exc.status) from None

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, Any], toxicity: float | None = None) -> Toxic:
        body: dict[str, Any] = {"attributes": attributes}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return Toxic.from_api(self._call("POST", f"/proxies/{proxy}/toxics/{name}", body))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    # -- transport -------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None, raw: bool = False) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()
            raise ToxiproxyError(f"toxiproxy {method} {path} -> {exc.code}: {detail}", exc.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise ToxiproxyError(
                f"toxiproxy {method} {path}: no answer from {self.api} within {self.timeout}s ({exc}); "
                "is the server running? (`evchaos infra status`)"
            ) from None
        if raw:
            return text
        return json.loads(text) if text.strip() else None
