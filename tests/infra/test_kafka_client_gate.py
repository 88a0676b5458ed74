"""The harness without a Kafka client library of its own: it imports, and a feature that needs one says so."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

from chaos.infra import kafka_client, records
from chaos.infra.endpoints import KafkaAccess

BLOCK_KAFKA = """
import importlib.abc, pkgutil, sys
class NoKafka(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "kafka" or name.startswith("kafka."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, NoKafka())
import chaos
for module in pkgutil.walk_packages(chaos.__path__, "chaos."):
    __import__(module.name)
print(len(sys.modules))
"""


def test_every_harness_module_imports_without_kafka_python():
    done = subprocess.run([sys.executable, "-c", BLOCK_KAFKA], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"a harness module imports kafka-python at import time:\n{done.stderr[-3000:]}"


def test_a_feature_that_needs_the_client_names_itself_and_the_extra(monkeypatch: pytest.MonkeyPatch):
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(kafka_client.metadata, "version", missing)
    with pytest.raises(kafka_client.MissingKafkaClient, match=r"writing and reading records .* needs the harness's "
                                                             r"Kafka client.*pip install '.*\[kafka\]'"):
        records.read_all(KafkaAccess("127.0.0.1:1"), "orders")


def test_a_system_pin_on_kafka_python_2_is_refused_where_3_is_needed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(kafka_client.metadata, "version", lambda name: "2.2.15")
    pinned = r"needs kafka-python 3\.x, and this environment has 2\.2\.15"
    with pytest.raises(kafka_client.MissingKafkaClient, match=pinned):
        kafka_client.require_kafka_python("the rewind fault")
