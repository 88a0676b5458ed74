"""The registry's REST API from the command line, over HTTPS with the server's certificate pinned.

``evcharge registry enroll cp CP_001 --url https://127.0.0.1:8443 --ca registry-cert.pem
--token-file operator.token --key-out cp-CP_001.key`` enrolls a CP and writes its key file (mode
0600), which its engine and monitor read (``--key-file``). Errors are the server's own sentence.
"""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


class RegistryCallError(RuntimeError):
    """The registry refused or could not be reached; the message says which and why."""


def call(url: str, method: str, path: str, token: str, ca: Path | None, body: dict[str, Any] | None = None,
         timeout: float = 10.0) -> Any:
    """One request; the decoded JSON answer, or ``RegistryCallError`` with the server's reason."""
    parts = urlparse(url)
    if parts.scheme != "https" or not parts.hostname:
        raise RegistryCallError(f"the registry URL must be https://HOST:PORT, not {url!r}")
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=context)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Host": f"{parts.hostname}:{parts.port or 443}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = json.loads(response.read() or b"null")
    except (OSError, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
        raise RegistryCallError(f"cannot reach the registry at {url}: {exc}") from None
    finally:
        conn.close()
    if response.status >= 400:
        reason = payload.get("error") if isinstance(payload, dict) else payload
        raise RegistryCallError(f"the registry refused ({response.status}): {reason}")
    return payload
