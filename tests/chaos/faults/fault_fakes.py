"""An in-memory Toxiproxy and backend, to test fault logic (validation, undo, idempotence) in milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from chaos.infra.backends.base import Infra
from chaos.infra.endpoints import BrokerInfo, Endpoints
from chaos.infra.toxiproxy.client import Proxy, Toxic, ToxiproxyError


class FakeToxiproxy:
    """Enough of ``ToxiproxyClient`` for faults; ``fail_after`` makes the n-th add_toxic fail."""

    def __init__(self, names: list[str]) -> None:
        self.state = {name: Proxy(name, "127.0.0.1:1", "127.0.0.1:2") for name in names}
        self.fail_after: int | None = None
        self.added = 0

    def proxies(self) -> dict[str, Proxy]:
        return dict(self.state)

    def get(self, name: str) -> Proxy:
        return self.state[name]

    def set_enabled(self, name: str, enabled: bool) -> None:
        self.state[name] = replace(self.state[name], enabled=enabled)

    def enable(self, name: str) -> None:
        self.set_enabled(name, True)

    def disable(self, name: str) -> None:
        self.set_enabled(name, False)

    def toxics(self, proxy: str) -> list[Toxic]:
        return list(self.state[proxy].toxics)

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        if self.fail_after is not None and self.added >= self.fail_after:
            raise ToxiproxyError(f"toxiproxy POST /proxies/{proxy}/toxics -> 500: injected", 500)
        self.added += 1
        self.state[proxy] = replace(self.state[proxy], toxics=(*self.state[proxy].toxics, toxic))
        return toxic

    def remove_toxic(self, proxy: str, name: str) -> None:
        toxics = self.state[proxy].toxics
        if name not in {t.name for t in toxics}:
            raise ToxiproxyError(f"toxiproxy DELETE /proxies/{proxy}/toxics/{name} -> 404: toxic not found", 404)
        self.state[proxy] = replace(self.state[proxy], toxics=tuple(t for t in toxics if t.name != name))


@dataclass
class FakeProcess:
    """A ``Lifecycle`` that only flips flags (and can refuse to start)."""

    name: str
    running: bool = True
    paused: bool = False
    starts: int = 0
    log: list[str] = field(default_factory=list)

    def start(self, wait: bool = True) -> FakeProcess:
        if not self.running:
            self.running, self.starts = True, self.starts + 1
            self.log.append("start")
        return self

    def stop(self, timeout: float | None = None) -> None:
        self.running, self.paused = False, False
        self.log.append("stop")

    def kill(self) -> None:
        self.running, self.paused = False, False
        self.log.append("kill")

    def pause(self) -> None:
        self.paused = True
        self.log.append("pause")

    def resume(self) -> None:
        self.paused = False
        self.log.append("resume")

    def restart(self, hard: bool = False, wait: bool = True) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        return self.running

    def wait_ready(self, timeout: float | None = None) -> None:
        pass


class FakeInfra(Infra):
    """Roles driver/central on ``brokers`` brokers; leader of every partition is ``leader_id``."""

    def __init__(self, brokers: int = 3, roles: tuple[str, ...] = ("driver", "central")) -> None:
        ids = range(1, brokers + 1)
        self.endpoints = Endpoints(
            roles={r: ",".join(f"127.0.0.1:{1000 * n}" for n in ids) for r in roles},
            toxiproxy_api="http://fake",
            brokers=[BrokerInfo(n, f"127.0.0.1:{n}") for n in ids],
        )
        self.toxiproxy = FakeToxiproxy([f"{r}-b{n}" for r in roles for n in ids])  # type: ignore[assignment]
        self._brokers = [FakeProcess(f"broker-{n}") for n in ids]
        self.leader_id = 2

    @property
    def brokers(self) -> list[FakeProcess]:  # type: ignore[override]
        return self._brokers

    def leader(self, topic: str, partition: int = 0) -> int:
        return self.leader_id

    def wait_brokers(self, count: int | None = None, timeout: float = 60.0) -> None:
        pass

    def toxic_names(self) -> dict[str, list[str]]:
        return {name: [t.name for t in proxy.toxics] for name, proxy in self.toxiproxy.proxies().items()}


def all_toxics(infra: Any) -> list[str]:
    return [t for names in infra.toxic_names().values() for t in names]
