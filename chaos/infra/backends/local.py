"""The ``local`` backend: real Kafka brokers (KRaft, 1 or 3 nodes) and Toxiproxy as local processes.

Everything a cluster needs lives in one work folder: a ``cluster.json`` that records the topology
(every port), one config, log and pid file per process, and one data folder per broker. ``up`` can
be called from a CLI that then exits: the processes run in their own sessions and ``LocalBackend.load``
finds them again through the pid files, never by process name.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chaos.infra.backends.base import Infra, say
from chaos.infra.endpoints import BrokerInfo, Endpoints
from chaos.infra.install import Installation, cache_home, default_installation
from chaos.infra.kafka_broker import broker_service, prepare_storage
from chaos.infra.security import ClusterSecurity
from chaos.infra.service import Service
from chaos.infra.topology import DEFAULT_ROLES, Topology
from chaos.infra.toxiproxy.client import ToxiproxyClient
from chaos.infra.toxiproxy.server import toxiproxy_service

STATE_FILE = "cluster.json"


def default_workdir() -> Path:
    return cache_home() / "clusters" / "default"


class LocalBackend(Infra):
    """A cluster of local processes described by a ``Topology``."""

    def __init__(
        self, workdir: Path, topology: Topology, inst: Installation | None = None,
        security: ClusterSecurity | None = None,
    ) -> None:
        self.workdir = workdir
        self.topology = topology
        self.security = security
        self.inst = inst or default_installation()
        self.toxiproxy = ToxiproxyClient(topology.toxiproxy_api)
        self.toxiproxy_service = self._toxiproxy_service()
        self._brokers = [self._broker_service(n) for n in topology.node_ids]

    # -- what runs each part (the docker backend runs the same parts in containers) ----------------
    def _toxiproxy_service(self) -> Service:
        return toxiproxy_service(self.inst, self.topology.host, self.topology.toxiproxy_port, self.workdir)

    def _broker_service(self, node_id: int) -> Service:
        return broker_service(self.inst, self.topology, node_id, self.workdir, self.security)

    def _prepare(self) -> None:
        """What must exist before anything starts: the jars and Toxiproxy; then each broker's storage."""
        self.inst.require()
        with ThreadPoolExecutor(len(self._brokers)) as pool:
            list(pool.map(lambda n: prepare_storage(self.inst, self.topology, n, self.workdir), self.topology.node_ids))

    @classmethod
    def create(
        cls, workdir: Path, brokers: int = 1, roles: tuple[str, ...] = DEFAULT_ROLES,
        inst: Installation | None = None, secured: bool = False,
    ) -> LocalBackend:
        """A new cluster with freshly allocated ports (nothing is started yet); ``secured``: SASL and
        ACLs on every listener (``chaos.infra.security``)."""
        return cls(workdir, Topology.allocate(brokers, roles), inst, ClusterSecurity.generate() if secured else None)

    @classmethod
    def load(cls, workdir: Path, inst: Installation | None = None) -> LocalBackend:
        """The cluster an earlier ``up`` left in ``workdir``."""
        state = workdir / STATE_FILE
        if not state.exists():
            raise FileNotFoundError(f"no cluster in {workdir} (no {STATE_FILE}); start one with `evchaos infra up`")
        raw = json.loads(state.read_text())
        security = ClusterSecurity.from_dict(raw["security"]) if raw.get("security") else None
        return cls(workdir, Topology.from_dict(raw["topology"]), inst, security)

    # -- views ------------------------------------------------------------------------------------
    @property
    def brokers(self) -> list[Service]:  # type: ignore[override]
        return self._brokers

    @property
    def services(self) -> list[Service]:
        return [self.toxiproxy_service, *self._brokers]

    @property
    def endpoints(self) -> Endpoints:  # type: ignore[override]
        t = self.topology
        return Endpoints(
            roles={r: t.bootstrap(r) for r in t.roles},
            toxiproxy_api=t.toxiproxy_api,
            brokers=[
                BrokerInfo(n, t.internal_address(n), s.pid)
                for n, s in zip(t.node_ids, self._brokers, strict=True)
            ],
            harness_credentials=self.security.harness if self.security is not None else None,
        )

    # -- lifecycle --------------------------------------------------------------------------------
    def up(self) -> LocalBackend:
        """Start Toxiproxy with every proxy, then all brokers in parallel; return once all are ready."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        state = self.workdir / STATE_FILE
        state.touch(mode=0o600)  # with security on, it holds the cluster's passwords
        state.chmod(0o600)
        state.write_text(json.dumps({"topology": self.topology.to_dict(),
                                     "security": self.security.to_dict() if self.security else None}, indent=2))
        started = time.monotonic()
        self._prepare()
        self.toxiproxy_service.start()
        self.toxiproxy.populate(self.topology.proxies())
        say(f"toxiproxy ready at {self.topology.toxiproxy_api} with {len(self.topology.links)} proxies "
            f"({time.monotonic() - started:.1f}s)")
        for broker in self._brokers:
            broker.start(wait=False)
        say(f"starting {len(self._brokers)} broker(s): logs in {self.workdir}")
        for broker in self._brokers:
            broker.wait_ready()
            say(f"{broker.name} ready ({time.monotonic() - started:.1f}s)")
        return self

    def down(self, graceful: bool = True) -> None:
        """Stop every process this cluster started; keep the data (``clean`` removes it)."""
        for service in [*self._brokers, self.toxiproxy_service]:
            service.stop() if graceful else service.kill()

    def clean(self) -> None:
        self.down()
        for broker in self._brokers:
            broker.clean()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def status(self) -> dict[str, object]:
        """Endpoints plus, per process, its pid and whether it is running or paused."""
        processes = {
            s.name: {"pid": s.pid, "running": s.is_running(), "paused": s.is_paused(), "log": str(s.log_path)}
            for s in self.services
        }
        return {**json.loads(self.endpoints.to_json()), "workdir": str(self.workdir), "processes": processes}
