"""A driver process's local HTTP API, as the scenarios' clients call it.

The one place that knows the driver's paths and wire format: if the driver's API changes, only this
file follows. Errors are left to the caller (``urllib.error.HTTPError``, ``OSError``, ``ValueError``)
because what an error means (a driver killed, paused, restarted) is the caller's to judge.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from chaos.core.scenario import Scenario


class DriverClient:
    """One driver process's HTTP API (``driver-D1`` ...)."""

    def __init__(self, scenario: Scenario, service: str) -> None:
        self.scenario, self.service = scenario, service
        self.driver_id = service.removeprefix("driver-")
        # the port is read from the driver's own command line, so the client cannot disagree with it
        argv = list(scenario.system.services[service].argv)
        self.port = int(argv[argv.index("--api-port") + 1])
        self.token_file = Path(argv[argv.index("--api-token-file") + 1])
        self._token = ""

    @property
    def token(self) -> str:
        """The bearer token the driver wrote at its first start (it keeps it across restarts)."""
        if not self._token:
            self._token = self.token_file.read_text().strip()
        return self._token

    def api(self, path: str, body: dict[str, Any] | None = None, timeout: float = 3.0) -> Any:
        """GET ``path`` (POST ``body`` as JSON if given) and return the decoded JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method="POST" if data is not None else "GET",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def request_charge(self, cp_id: str | None, duration_s: float | None) -> Any:
        """Ask the driver for a charge at ``cp_id`` (``None``: any CP); the answer carries its ``request_id``."""
        return self.api("/charge", {"cp_id": cp_id, "duration_s": duration_s})

    def request_status(self, request_id: str) -> Any:
        """The driver's latest snapshot of one request (raises ``HTTPError`` 404 once the driver forgot it)."""
        return self.api(f"/requests/{request_id}")

    def stop_request(self, request_id: str) -> Any:
        """Stop the charge (or cancel the request if it is not charging yet); 404 if the driver forgot it."""
        return self.api(f"/requests/{request_id}/stop", {})

    def requests(self, timeout: float = 3.0) -> Any:
        """Every request this driver still knows, as its own record says."""
        return self.api("/requests", timeout=timeout)

    def list_cps(self, timeout: float = 3.0) -> Any:
        """The CPs as the driver gets them from Central: an answer proves the driver's Kafka clients work."""
        return self.api("/cps", timeout=timeout)
