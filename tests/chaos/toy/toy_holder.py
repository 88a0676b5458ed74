"""The toy's producer: takes leases on resources R1, R2, ... through Kafka, one after the other.

For each resource it sends ``reserve``, a ``hb`` (heartbeat) every ``--beat`` s for ``--hold`` s,
then ``release``. Sends are fire-and-forget with a short delivery timeout, so a message sent while
its link is down is lost: the release that never arrives is what the keeper must survive.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

from tests import kafka_clients as clients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--hold", type=float, default=1.0)
    parser.add_argument("--beat", type=float, default=0.2)
    args = parser.parse_args()
    producer = clients.producer(
        args.bootstrap,
        request_timeout_ms=400,
        delivery_timeout_ms=1000,
        max_block_ms=1000,
        reconnect_backoff_max_ms=200,
    )

    def send(op: str, resource: str) -> None:
        payload = json.dumps({"op": op, "resource": resource, "holder": "holder"}).encode()
        try:
            future = producer.send(args.topic, payload)
        except Exception as exc:  # buffer full or no metadata: the message is lost, as on a real outage
            print(f"lost {op} {resource}: {exc!r}", flush=True)
            return
        future.add_errback(lambda exc: print(f"lost {op} {resource}: {exc!r}", flush=True))

    producer.send(args.topic, b'{"op": "hello"}').get(timeout=10)
    print("holder ready", flush=True)
    for number in itertools.count(1):
        resource = f"R{number}"
        send("reserve", resource)
        until = time.monotonic() + args.hold
        while time.monotonic() < until:
            time.sleep(args.beat)
            send("hb", resource)
        send("release", resource)


if __name__ == "__main__":
    main()
