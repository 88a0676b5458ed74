"""The ``external`` backend: a cluster and Toxiproxy someone else started (e.g. ``docker compose up``).

It is given the same endpoints JSON that ``evchaos infra status --json`` prints, so every link fault
works; broker process faults do not, since this backend owns no process.
"""

from __future__ import annotations

from pathlib import Path

from chaos.infra.backends.base import Infra
from chaos.infra.endpoints import Endpoints
from chaos.infra.toxiproxy.client import ToxiproxyClient


class ExternalBackend(Infra):
    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self.toxiproxy = ToxiproxyClient(endpoints.toxiproxy_api)

    @classmethod
    def from_file(cls, path: str | Path) -> ExternalBackend:
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"endpoints file {path} not found; write one with `evchaos infra status --json > {path}`"
            ) from None
        try:
            return cls(Endpoints.from_json(text))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{path} is not an endpoints file ({exc!r}); it needs 'roles' and 'toxiproxy_api' "
                "as printed by `evchaos infra status --json`"
            ) from None
