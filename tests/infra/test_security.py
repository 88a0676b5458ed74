"""A secured local cluster, for real: SASL through Toxiproxy, ACLs enforced, nothing by default.

One broker with SASL on every listener; principals made at run time; plain kafka-python clients
try what a component may and may not do. Refusals are the broker's own answers, not ours.
"""

from __future__ import annotations

import json
import stat
import time
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from chaos.infra import records
from chaos.infra.backends.local import STATE_FILE, LocalBackend
from chaos.infra.kafka_protocol import SaslError, fetch_metadata
from chaos.infra.principals import Grant, add_principals, remove_principals
from chaos.infra.security import Credentials

pytestmark = pytest.mark.integration

FAST = {"bootstrap_timeout_ms": 4000, "request_timeout_ms": 5000, "reconnect_backoff_max_ms": 500}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBackend]:
    backend = LocalBackend.create(tmp_path_factory.mktemp("secured"), roles=("app", "harness"), secured=True)
    try:
        yield backend.up()
    finally:
        backend.down(graceful=False)


def producer(bootstrap: str, credentials: Credentials) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_block_ms=5000, **FAST,
                         **credentials.client_settings())


def test_the_harness_works_through_its_proxies_and_nobody_else_gets_in(cluster: LocalBackend):
    broker = cluster.endpoints.brokers[0].internal
    assert fetch_metadata(broker, plain=cluster.endpoints.harness_access().plain).brokers, "harness: in"
    with pytest.raises(OSError):
        fetch_metadata(broker, timeout=2.0)  # no SASL: the broker drops the connection
    with pytest.raises(SaslError, match="refused"):
        fetch_metadata(broker, plain=("harness", "not-the-password"))
    app_proxy = cluster.endpoints.bootstrap("app").split(",")[0]
    with pytest.raises(OSError):
        fetch_metadata(app_proxy, timeout=2.0)  # through Toxiproxy, the same
    state = cluster.workdir / STATE_FILE
    assert stat.S_IMODE(state.stat().st_mode) == 0o600 and json.loads(state.read_text())["security"]


def test_a_principal_may_do_exactly_what_it_is_granted(cluster: LocalBackend):
    access = cluster.endpoints.harness_access()
    prefix = f"s{uuid.uuid4().hex[:6]}."
    allowed, other, group = f"{prefix}orders", f"{prefix}payments", f"{prefix}readers"
    admin = records.admin_client(access)
    try:
        from kafka.admin import NewTopic

        admin.create_topics([NewTopic(allowed, 1, 1), NewTopic(other, 1, 1)])
    finally:
        admin.close()
    made = add_principals(access, {
        "writer": [Grant("write", "topic", allowed)],
        "reader": [Grant("read", "topic", prefix, prefixed=True), Grant("read", "group", group)],
    })
    app = cluster.endpoints.bootstrap("app")
    try:
        writer = producer(app, made["writer"])
        try:
            assert writer.send(allowed, b"granted").get(timeout=15).offset == 0
            with pytest.raises(TopicAuthorizationFailedError):
                writer.send(other, b"not granted").get(timeout=15)
        finally:
            writer.close(timeout=5)
        with pytest.raises(KafkaError):
            producer(app, made["reader"]).send(allowed, b"reader may not write").get(timeout=15)

        reader = KafkaConsumer(allowed, bootstrap_servers=app, group_id=group, auto_offset_reset="earliest",
                               consumer_timeout_ms=15000, **FAST, **made["reader"].client_settings())
        try:
            assert [r.value for r in reader][:1] == [b"granted"]
        finally:
            reader.close()
        with pytest.raises(KafkaError):
            producer(app, Credentials("writer", "a-wrong-password"))
    finally:
        remove_principals(access, made)
    with pytest.raises(KafkaError):
        producer(app, made["writer"]).send(allowed, b"after removal").get(timeout=15)


def test_the_harness_records_go_through_sasl(cluster: LocalBackend):
    access = cluster.endpoints.harness_access()
    topic = f"h{uuid.uuid4().hex[:6]}"
    admin = records.admin_client(access)
    try:
        from kafka.admin import NewTopic

        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    written = records.write(access, topic, [b"x", b"y"])
    assert [r.value for r in records.read_all(access, topic)] == [b"x", b"y"] and len(written) == 2


def test_grants_are_checked_before_anything_is_made():
    with pytest.raises(ValueError, match="operation 'wrte'"):
        Grant("wrte", "topic", "t")
    with pytest.raises(ValueError, match="resource 'topc'"):
        Grant("write", "topc", "t")


def test_status_json_carries_the_harness_credentials(cluster: LocalBackend):
    endpoints = type(cluster.endpoints).from_json(cluster.endpoints.to_json())
    assert endpoints.harness_credentials == cluster.endpoints.harness_credentials
    assert endpoints.harness_access().settings["sasl_mechanism"] == "PLAIN"


WRITER = """
import os, sys
from kafka import KafkaProducer
from kafka.errors import KafkaError
producer = KafkaProducer(bootstrap_servers=os.environ["BOOTSTRAP"], security_protocol="SASL_PLAINTEXT",
                         sasl_mechanism="SCRAM-SHA-512", sasl_plain_username=os.environ["USER_NAME"],
                         sasl_plain_password=os.environ["PASSWORD"], max_block_ms=8000, request_timeout_ms=5000)
for topic in sys.argv[1:]:
    try:
        producer.send(topic, b"x").get(timeout=15)
        print("wrote", topic, flush=True)
    except KafkaError as exc:
        print("refused", topic, type(exc).__name__, flush=True)
producer.close(timeout=5)
"""


def test_each_service_of_a_run_gets_its_own_principal_with_its_grants_only(cluster: LocalBackend, tmp_path):
    """The harness's side: SystemRun makes a principal per service from its spec, hands it over in
    ``{kafka_user}``/``{kafka_password}``, and removes it at the end."""
    import sys

    from chaos.core.spec import ServiceSpec, SystemSpec
    from chaos.core.system import SystemRun

    prefix = f"r{uuid.uuid4().hex[:6]}."
    mine, theirs = f"{prefix}mine", f"{prefix}theirs"
    admin = records.admin_client(cluster.endpoints.harness_access())
    try:
        from kafka.admin import NewTopic

        admin.create_topics([NewTopic(mine, 1, 1), NewTopic(theirs, 1, 1)])
    finally:
        admin.close()
    env = {"BOOTSTRAP": "{bootstrap}", "USER_NAME": "{kafka_user}", "PASSWORD": "{kafka_password}"}
    spec = SystemSpec("secured-toy", [
        ServiceSpec("writer", [sys.executable, "-c", WRITER, mine, theirs], role="app", env=env,
                    grants=[Grant("write", "topic", "{topic_prefix}mine")]),
    ])
    run = SystemRun(spec, cluster, tmp_path, topic_prefix=prefix)
    issued = run.credentials["writer"]
    assert issued.user == f"{prefix}writer"
    with run.running():
        service = run.services["writer"]
        deadline = time.monotonic() + 60
        while service.is_running() and time.monotonic() < deadline:
            time.sleep(0.1)
        said = service.log_path.read_text()
    assert f"wrote {mine}" in said and f"refused {theirs} TopicAuthorizationFailedError" in said, said
    assert run.credentials == {}, "the run's principals are removed when it ends"
    with pytest.raises(KafkaError):  # the very password it was given no longer opens anything
        producer(cluster.endpoints.bootstrap("app"), issued).send(mine, b"gone").get(timeout=15)


def test_evcharge_provision_gives_each_component_its_own_user_with_its_roles_acls_only(cluster, tmp_path):
    """The deployment's side (``docker-compose.yml``'s ``principals``): the system's own command makes
    each component's SCRAM user from the secrets folder, with the ACLs of its role and nothing more;
    run again, it changes nothing."""
    import subprocess
    import sys

    from evcharge.provision import make_secrets

    prefix = f"p{uuid.uuid4().hex[:6]}."
    make_secrets(tmp_path, "cp:CP_001,driver:D1")
    (tmp_path / "kafka" / "harness.password").write_text(cluster.endpoints.harness_credentials.password)
    command = [sys.executable, "-m", "evcharge.cli", "provision", "kafka", "--dir", str(tmp_path),
               "--enroll", "cp:CP_001,driver:D1", "--topic-prefix", prefix,
               "--bootstrap", cluster.endpoints.bootstrap("harness")]
    for _ in range(2):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "4 SCRAM users" in done.stdout, done.stdout + done.stderr
    app = cluster.endpoints.bootstrap("app")
    engine = Credentials("cp-CP_001", (tmp_path / "kafka" / "cp-CP_001.password").read_text().strip())
    writer = producer(app, engine)
    try:
        assert writer.send(f"{prefix}cp-events", b"an engine's event").get(timeout=15).offset == 0
        with pytest.raises(TopicAuthorizationFailedError):
            writer.send(f"{prefix}driver-events.D1", b"an engine speaking to a driver").get(timeout=15)
    finally:
        writer.close(timeout=5)
    with pytest.raises(KafkaError):
        producer(app, Credentials("driver-D1", "not-its-password"))
