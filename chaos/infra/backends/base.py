"""What every backend offers the harness: endpoints, the Toxiproxy client, proxies and brokers.

Link faults are not here: every cut goes through the ``link-down`` fault (``chaos.faults.cut``),
which heals exactly what it broke.

Faults and fixtures speak only to this interface, so a scenario runs unchanged on local processes,
on containers, or on a cluster someone else started.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol

from chaos.infra.endpoints import Endpoints
from chaos.infra.kafka_protocol import ClusterMeta, fetch_metadata
from chaos.infra.toxiproxy.client import ToxiproxyClient


class Lifecycle(Protocol):
    """The one lifecycle of every process (see ``chaos.infra.service.Service``)."""

    name: str

    def start(self, wait: bool = True) -> object: ...
    def stop(self, timeout: float | None = None) -> None: ...
    def kill(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def restart(self, hard: bool = False, wait: bool = True) -> None: ...
    def is_running(self) -> bool: ...
    def wait_ready(self, timeout: float | None = None) -> None: ...


def say(message: str) -> None:
    print(f"[evchaos] {message}", file=sys.stderr, flush=True)


class Infra:
    """Base class: everything here works from the endpoints and the Toxiproxy API alone."""

    endpoints: Endpoints
    toxiproxy: ToxiproxyClient

    # -- brokers (backends that own processes override these) ---------------------------------------
    @property
    def brokers(self) -> list[Lifecycle]:
        raise NotImplementedError(f"{type(self).__name__} cannot control broker processes")

    def broker(self, node_id: int) -> Lifecycle:
        for service in self.brokers:
            if service.name == f"broker-{node_id}":
                return service
        raise KeyError(f"no broker {node_id}; brokers: {[s.name for s in self.brokers]}")

    # -- metadata ---------------------------------------------------------------------------------
    def metadata(self, topics: list[str] | None = None, timeout: float = 2.0) -> ClusterMeta:
        """Metadata from the first broker that answers on its direct (un-proxied) address."""
        errors = []
        for broker in self.endpoints.brokers:
            try:
                return fetch_metadata(broker.internal, topics, timeout,
                                      self.endpoints.harness_access(broker.internal).plain)
            except OSError as exc:
                errors.append(f"{broker.internal}: {exc}")
        raise ConnectionError("no broker answered a metadata request: " + "; ".join(errors))

    def leader(self, topic: str, partition: int = 0) -> int:
        return self.metadata([topic]).leader(topic, partition)

    def when_brokers_back(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Run ``hook`` each time a fault's heal has started brokers again and they serve
        (``brokers_back``); returns the function that unregisters it."""
        hooks: list[Callable[[], None]] = self.__dict__.setdefault("_back_hooks", [])
        hooks.append(hook)
        return lambda: hooks.remove(hook) if hook in hooks else None

    def brokers_back(self) -> None:
        for hook in list(self.__dict__.get("_back_hooks", ())):
            hook()

    def wait_brokers(self, count: int | None = None, timeout: float = 60.0) -> None:
        """Wait until metadata lists ``count`` live brokers (all of them by default)."""
        want = count if count is not None else len(self.endpoints.brokers)
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                live = self.metadata(timeout=1.0).brokers
                if len(live) >= want:
                    return
                last = f"{len(live)} live: {sorted(live)}"
            except (OSError, ConnectionError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise TimeoutError(f"cluster did not reach {want} live brokers within {timeout}s ({last})")

    # -- links ------------------------------------------------------------------------------------
    def proxy_names(self, role: str | None = None, broker: int | None = None) -> list[str]:
        """Names of the proxies for a role and/or a broker (``"driver-b2"``), all if neither."""
        if role is not None:
            self.endpoints.bootstrap(role)  # raises a clear KeyError for an unknown role
        names = sorted(self.toxiproxy.proxies())
        return [
            n for n in names
            if (role is None or n.rsplit("-b", 1)[0] == role)
            and (broker is None or n.rsplit("-b", 1)[1] == str(broker))
        ]

    def reset(self) -> None:
        """Heal every link (between tests)."""
        self.toxiproxy.reset()

    def down(self, graceful: bool = True) -> None:
        """Stop what this backend started (nothing, for a backend that started nothing).

        ``graceful=False`` kills instead of stopping: for throw-away clusters whose data nobody keeps.
        """
