"""One KRaft node (broker and controller in one JVM) as a ``Service``: config, storage, readiness.

The settings favour a 2-core machine and fast fault recovery over throughput: small heaps, the serial
collector, few threads, a small ``__consumer_offsets`` topic (50 partitions would take seconds to
create with replication 3), and, in a cluster of three, short broker session timeouts so a killed
leader is fenced and replaced in about five seconds instead of nine.

A single node keeps a long one (``SINGLE_NODE_SESSION_MS``): its controller fencing its own broker
has nothing to fail over to, and on a loaded 2-core machine it did exactly that -- a heartbeat from
the broker to the controller in the same JVM took over 3 s, the controller fenced the broker, every
partition lost its leader for seconds, and a scenario that only killed an engine saw its CP stuck
(the broker log says "Fencing broker 1 ... because its session has timed out").
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

from chaos.infra.install import Installation
from chaos.infra.kafka_protocol import fetch_metadata
from chaos.infra.security import ClusterSecurity
from chaos.infra.service import ReadyCheck, Service
from chaos.infra.topology import Topology

# Any fixed UUID will do: clusters on one machine never talk to each other, and a fixed id lets a
# formatted data directory be copied from a template instead of paying a JVM start to format it.
CLUSTER_ID = "EvChaosLocalKafka00000"

LOG4J2 = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{HH:mm:ss.SSS}] %p %m (%c{1})%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
"""

JVM_OPTS = [
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-UsePerfData",
    "-Djava.awt.headless=true",
]


SINGLE_NODE_SESSION_MS = 30_000
"""A lone broker's session with its own controller: long, nothing to fail over to (module doc)."""
CLUSTER_SESSION_MS = 5_000
"""Ten missed heartbeats: a killed broker is fenced in about five seconds, a slow one is not."""


def server_properties(
    topology: Topology, node_id: int, data_dir: Path, security: ClusterSecurity | None = None
) -> dict[str, str]:
    n = len(topology.node_ids)
    replication = str(min(3, n))
    secured = security.broker_properties(topology.roles) if security is not None else {}
    return {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": topology.quorum_voters(),
        **topology.listener_properties(node_id),
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "default.replication.factor": replication,
        "min.insync.replicas": str(min(2, n)),
        "offsets.topic.replication.factor": replication,
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": str(min(2, n)),
        "transaction.state.log.num.partitions": "5",
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": str(min(2, n)),
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
        "unclean.leader.election.enable": "false",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "num.recovery.threads.per.data.dir": "1",
        "background.threads": "2",
        "log.cleaner.threads": "1",
        "broker.heartbeat.interval.ms": "500",
        "broker.session.timeout.ms": str(SINGLE_NODE_SESSION_MS if n == 1 else CLUSTER_SESSION_MS),
        "controller.quorum.election.timeout.ms": "1000",
        "controller.quorum.fetch.timeout.ms": "2000",
        "log.retention.check.interval.ms": "600000",
        **secured,
    }


def _write_properties(path: Path, props: dict[str, str]) -> None:
    """Written private (0600): with security on it holds the cluster's static passwords."""
    path.touch(mode=0o600)
    path.chmod(0o600)  # an older file of a reused folder keeps its mode otherwise
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))


def _format(inst: Installation, config: Path) -> None:
    argv = [
        "java", *JVM_OPTS, "-Dlog4j2.configurationFile=" + str(config.parent / "log4j2.properties"),
        "-cp", inst.kafka_classpath, "kafka.tools.StorageTool", "format", "--ignore-formatted",
        "-t", CLUSTER_ID, "-c", str(config),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"kafka storage format failed:\n{done.stdout}\n{done.stderr}")


def format_storage(inst: Installation, topology: Topology, node_id: int, data_dir: Path, workdir: Path) -> None:
    """Lay out a formatted data directory, copied from a cached template formatted once per node id."""
    if (data_dir / "meta.properties").exists():
        return
    template = inst.kafka_dir / "templates" / f"node-{node_id}"
    template.parent.mkdir(parents=True, exist_ok=True)
    with open(template.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (template / "meta.properties").exists():
            scratch = template.parent / f"work-{node_id}"
            scratch.mkdir(exist_ok=True)
            (scratch / "log4j2.properties").write_text(LOG4J2)
            config = scratch / "format.properties"
            _write_properties(config, server_properties(topology, node_id, template))
            _format(inst, config)
    shutil.copytree(template, data_dir, dirs_exist_ok=True)


def broker_service(
    inst: Installation, topology: Topology, node_id: int, workdir: Path, security: ClusterSecurity | None = None
) -> Service:
    """The Service for one node; its data survives ``restart`` and is removed by ``clean``."""
    data_dir = workdir / f"broker-{node_id}-data"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "log4j2.properties").write_text(LOG4J2)
    config = workdir / f"broker-{node_id}.properties"
    _write_properties(config, server_properties(topology, node_id, data_dir, security))
    argv = [
        "java", *JVM_OPTS,
        f"-Dlog4j2.configurationFile={workdir / 'log4j2.properties'}",
        "-cp", inst.kafka_classpath, "kafka.Kafka", str(config),
    ]
    return Service(
        name=f"broker-{node_id}",
        argv=argv,
        workdir=workdir,
        ready=broker_ready(topology, node_id, security),
        ready_timeout=90.0,
        data_dirs=[data_dir],
        stop_timeout=20.0,
    )


def broker_ready(topology: Topology, node_id: int, security: ClusterSecurity | None) -> ReadyCheck:
    """Ready when this node's metadata lists the whole cluster, read on its internal listener."""
    expected = len(topology.node_ids)
    internal = topology.internal_address(node_id)
    login = (security.harness.user, security.harness.password) if security is not None else None
    return lambda: len(fetch_metadata(internal, timeout=1.0, plain=login).brokers) >= expected


def prepare_storage(inst: Installation, topology: Topology, node_id: int, workdir: Path) -> None:
    format_storage(inst, topology, node_id, workdir / f"broker-{node_id}-data", workdir)
