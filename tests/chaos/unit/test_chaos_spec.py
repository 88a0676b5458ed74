"""The system-under-test spec: templates, readiness forms, the SQLite state probe, and validation."""

from __future__ import annotations

import http.server
import socket
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.core.history import History
from chaos.core.sampler import StateSampler
from chaos.core.spec import (
    InvariantSpec,
    ProbeSpec,
    Readiness,
    ServiceSpec,
    SpecError,
    SqliteStateProbe,
    SystemSpec,
    format_placeholders,
    log_ready,
)
from chaos.infra.service import Service

VALUES = {"topic_prefix": "t1.", "db": "/tmp/x.db", "workdir": "/tmp/w"}


def test_placeholders_are_filled_and_unknown_ones_are_named() -> None:
    assert format_placeholders("{topic_prefix}events {{literal}}", VALUES) == "t1.events {literal}"
    with pytest.raises(SpecError, match=r"env X: unknown placeholder \{bootsrap\}.*known placeholders: db, "):
        format_placeholders("{bootsrap}", VALUES, "env X")
    with pytest.raises(SpecError, match="malformed template"):
        format_placeholders("{oops", VALUES)


def test_a_service_gets_the_bootstrap_of_its_own_role() -> None:
    service = ServiceSpec(
        "producer",
        ["python", "-m", "toy.producer", "--db", "{db}"],
        role="writer",
        env={"BOOTSTRAP": "{bootstrap}", "TOPIC": "{topic_prefix}numbers"},
    )
    roles = {"writer": "127.0.0.1:21001", "reader": "127.0.0.1:21002"}
    for bootstrap in (roles, roles.__getitem__):
        values = service.placeholders(bootstrap, **VALUES)
        argv, env = service.render(values)
        assert argv[-1] == "/tmp/x.db"
        assert env == {"BOOTSTRAP": "127.0.0.1:21001", "TOPIC": "t1.numbers"}
    with pytest.raises(SpecError, match="uses Kafka role 'writer'"):
        service.placeholders({"reader": "x"})
    with pytest.raises(
        SpecError, match=r"service 'producer' env BOOTSTRAP: unknown placeholder \{bootstrap\}"
    ):
        service.render(VALUES)


def test_readiness_forms_parse_and_bad_ones_list_the_accepted_forms() -> None:
    assert Readiness.parse("http GET http://127.0.0.1:80/health") == Readiness(
        "http", "http://127.0.0.1:80/health"
    )
    assert Readiness.parse("tcp 8080") == Readiness("tcp", "8080")
    assert Readiness.parse("log line consumer started up") == Readiness("log", "consumer started up")
    assert Readiness.parse("group {topic_prefix}booker") == Readiness("group", "{topic_prefix}booker")
    with pytest.raises(SpecError, match="readiness 'group' asks the cluster through the harness's own role"):
        Readiness.parse("group g").check()
    with pytest.raises(SpecError, match="one of: http GET <url>, tcp <port>"):
        Readiness.parse("ping localhost")
    with pytest.raises(SpecError, match="service 'x': cannot read readiness"):
        ServiceSpec("x", ["true"], ready="udp 53")
    with pytest.raises(SpecError, match="argv is empty"):
        ServiceSpec("x", [])
    with pytest.raises(SpecError, match=r"service name 'api/v2': use letters, digits"):
        ServiceSpec("api/v2", ["true"])


def probe(service: ServiceSpec, log: Path | None = None, values: dict[str, str] | None = None) -> bool:
    check = service.ready_check(log, values)
    assert check is not None
    return check()


@pytest.fixture
def http_url() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ok" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_readiness_probes_really_probe(tmp_path: Path, http_url: str) -> None:
    assert probe(ServiceSpec("a", ["x"], ready=f"http GET {http_url}/ok")) is True
    assert probe(ServiceSpec("a", ["x"], ready=f"http GET {http_url}/sick")) is False

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert probe(ServiceSpec("a", ["x"], ready="tcp {port}"), values={"port": str(port)}) is True
    assert probe(ServiceSpec("a", ["x"], ready=f"tcp 127.0.0.1:{port}")) is False

    log = tmp_path / "svc.log"
    check = ServiceSpec("a", ["x"], ready="log line started on {workdir}").ready_check(log, VALUES)
    assert check is not None and check() is False  # no log yet
    log.write_text("booting\nstarted on /tmp/w\n")
    assert check() is True
    assert probe(ServiceSpec("a", ["x"], ready=lambda: True)) is True
    assert ServiceSpec("a", ["x"]).ready_check() is None
    with pytest.raises(SpecError, match="needs the service's log file"):
        ServiceSpec("a", ["x"], ready="log line up").ready_check()


def test_a_restarted_service_is_not_ready_on_the_line_its_last_run_wrote(tmp_path: Path) -> None:
    """The log is kept across restarts: the "started" line of the killed incarnation must not make the
    new one count as ready (it did: a kill-at heal ended its fault window before Central was back,
    and the reservation it could not expire while down was charged to Central as 10 s stuck)."""
    gate = tmp_path / "go"
    script = f"import pathlib, time\nwhile not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.01)\n" \
             "print('started', flush=True)\ntime.sleep(60)\n"
    service = Service("svc", [sys.executable, "-c", script], tmp_path)
    service.ready = log_ready(service.log_path, "started")
    try:
        gate.touch()
        service.start()  # ready: its own line
        service.kill()
        gate.unlink()
        service.start(wait=False)
        assert service.is_running() and service.ready() is False, "the killed run's line counted"
        gate.touch()
        service.wait_ready(timeout=20)
    finally:
        service.kill()


def make_db(path: Path, rows: list[tuple[str, str]]) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS things (id TEXT PRIMARY KEY, state TEXT)")
        db.executemany("INSERT OR REPLACE INTO things VALUES (?, ?)", rows)
    db.close()


def test_sqlite_probe_reads_states_and_tolerates_missing_locked_and_unready_databases(tmp_path: Path) -> None:
    path = tmp_path / "system.db"
    probe = SqliteStateProbe(path, "SELECT id, state FROM things ORDER BY id", timeout=0.05)
    assert probe() == {}  # not created yet: no resources
    sqlite3.connect(path).close()
    assert probe() is None  # created but no table yet: cannot tell
    make_db(path, [("r1", "idle"), ("r2", "busy")])
    assert probe() == {"r1": "idle", "r2": "busy"}

    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        assert probe() is None  # locked: cannot tell this time
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    with pytest.raises(sqlite3.OperationalError):  # the probe never writes
        sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True).execute("DELETE FROM things")
    assert probe() == {"r1": "idle", "r2": "busy"}


def test_a_probe_spec_builds_a_sampler_ready_probe(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    make_db(path, [("r1", "reserved")])
    probe = ProbeSpec(query="SELECT id, state FROM things").build({"db": str(path)})
    history = History()
    sampler = StateSampler(history, probe)
    sampler.sample()
    assert history.events[-1]["states"] == {"r1": "reserved"}
    assert ProbeSpec(factory=lambda values: lambda: {"k": values["db"]}).build({"db": "d"})() == {"k": "d"}
    with pytest.raises(SpecError, match="exactly one of 'query'"):
        ProbeSpec()
    with pytest.raises(SpecError, match=r"probe db: unknown placeholder \{db\}"):
        ProbeSpec(query="SELECT 1").build({})


def test_system_spec_bundles_services_probe_and_invariants() -> None:
    spec = SystemSpec(
        "toy",
        [
            ServiceSpec("producer", ["p"], role="writer"),
            ServiceSpec("consumer", ["c"], role="reader"),
            ServiceSpec("db", ["d"]),
        ],
        ProbeSpec(query="SELECT id, state FROM things"),
        InvariantSpec(transient_limits={"pending": 5}),
    )
    assert spec.roles == ("writer", "reader")  # in the order the services name them, each once
    assert spec.service("consumer").role == "reader"
    with pytest.raises(SpecError, match="has no service 'x'; services: producer, consumer, db"):
        spec.service("x")
    with pytest.raises(SpecError, match="used twice: a"):
        SystemSpec("dup", [ServiceSpec("a", ["x"]), ServiceSpec("a", ["y"])])
