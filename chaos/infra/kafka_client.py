"""The one gate before the harness uses a Kafka client library of its own (kafka-python 3).

The harness runs beside systems on any client, so it does not install one: what it must always do
(readiness, groups, fresh topics) it does over the wire itself. Its richer features write and read
records, rewind groups and make SASL principals through kafka-python 3, from the ``kafka`` extra.
Asking here first turns a bare ``ModuleNotFoundError`` deep inside a fault into a sentence that
names the feature and the fix, and refuses a kafka-python 2.x (a system's pin) where 3.x is needed.
"""

from __future__ import annotations

from importlib import metadata


def _distribution() -> str:
    """The harness's distribution name, as pip knows it (for the hint)."""
    names = metadata.packages_distributions().get("chaos", [])
    return names[0] if names else "<this harness>"


def install_hint() -> str:
    return (f"install {_distribution()}'s `kafka` extra (kafka-python 3.x) into the environment the harness runs "
            f"in, e.g. pip install '/path/to/its/checkout[kafka]'")


class MissingKafkaClient(RuntimeError):
    """A harness feature needs kafka-python 3 and this environment has none (or an older one)."""


def require_kafka_python(feature: str) -> None:
    """Raise ``MissingKafkaClient`` naming ``feature`` unless kafka-python 3.x can be imported."""
    try:
        version = metadata.version("kafka-python")
    except metadata.PackageNotFoundError:
        raise MissingKafkaClient(f"{feature} needs the harness's Kafka client, and kafka-python is not installed: "
                                 f"{install_hint()}") from None
    if int(version.split(".")[0]) < 3:
        raise MissingKafkaClient(f"{feature} needs kafka-python 3.x, and this environment has {version} (a system's "
                                 f"pin?): run the harness from its own environment, or without this feature")
