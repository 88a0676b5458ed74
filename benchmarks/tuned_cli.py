"""``evcharge`` with kafka-python's reconnect backoff cap taken from the environment.

    EVCHARGE_BENCH_RECONNECT_BACKOFF_MAX_MS=250 python -m benchmarks.tuned_cli driver ...

``system/kafka_client.py`` hard-codes ``reconnect_backoff_max_ms`` = 1000 and offers no flag or
environment variable for it; the driver-recovery benchmark needs the "after" figure with a lower cap
without editing ``system/``. This wrapper sets the module constant (``common_config`` reads it at each
client creation) and runs the unchanged CLI. The proper fix is a ``--reconnect-backoff-max`` option
in ``system/config.py``; this is only the measurement that argues for it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from system import cli, kafka_client

ENV = "EVCHARGE_BENCH_RECONNECT_BACKOFF_MAX_MS"


def main(argv: list[str] | None = None) -> int:
    if ENV in os.environ:
        kafka_client.RECONNECT_BACKOFF_MAX_MS = int(os.environ[ENV])
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
