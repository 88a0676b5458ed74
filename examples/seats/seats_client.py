"""An HTTP client of the seat api: each call returns what the api said, or why nothing was said.

The three ways a call can end are what a client can honestly tell apart: the booker decided
(``answered``), the api said it could not get a decision or nobody was listening (``certain``: the
request had no effect beyond a hold that expires by itself), or no answer came at all (neither:
it may or may not have taken effect).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

DECIDED = frozenset({200, 201, 404, 409})
"""Statuses that carry the booker's decision (made, sold, no such hold, taken or expired)."""


@dataclass(frozen=True)
class Answer:
    status: int
    """The HTTP status; 0 when there was none."""
    body: dict[str, Any] = field(default_factory=dict)
    certain: bool = True
    """False when the call ended without an answer (timeout, connection lost mid-way)."""

    @property
    def answered(self) -> bool:
        return self.status in DECIDED

    @property
    def reason(self) -> str:
        return str(self.body.get("error") or f"HTTP {self.status}")

    def record(self, outcome: Any) -> Answer:
        """Tell ``outcome`` (a history's operation) what this call came to, as only its client can: ok
        with the booker's decision (a refusal is one too), fail with the api's reason, unknown when no
        answer came."""
        if self.answered:
            outcome.ok(self.body)
        elif self.certain:
            outcome.fail(self.reason)
        else:
            outcome.unknown(self.reason)
        return self


class SeatsClient:
    """The api at ``http://host:port``; ``timeout`` bounds each call (the api answers within 3 s)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> None:
        self.base, self.timeout = f"http://{host}:{port}", timeout

    def hold(self, seat: str) -> Answer:
        return self.call("POST", "/holds", {"seat": seat})

    def confirm(self, hold: str) -> Answer:
        return self.call("POST", f"/holds/{hold}/confirm", {})

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Answer:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Answer(response.status, _json(response.read()))
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, _json(exc.read()))
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):  # nothing listening: nothing was sent
                return Answer(0, {"error": "the api is not listening (connection refused)"})
            return Answer(0, {"error": f"no answer from the api: {exc.reason}"}, certain=False)
        except OSError as exc:  # a timeout or a reset after the request was sent
            return Answer(0, {"error": f"no answer from the api: {exc!r}"}, certain=False)


def _json(data: bytes) -> dict[str, Any]:
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        return {"error": data.decode(errors="replace")[:200]}
    return body if isinstance(body, dict) else {"value": body}
