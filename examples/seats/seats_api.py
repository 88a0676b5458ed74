"""The seat api: HTTP for the clients, Kafka behind it; the booker decides, the api waits for its answer.

- ``POST /holds {"seat": "A1"}``: 201 ``{"hold", "seat", "state"}``, or 409 when the seat is taken;
- ``POST /holds/<hold>/confirm``: 200 sold, 409 when the hold expired or was sold, 404 if unknown;
- ``GET /health``: 200 once Kafka is reachable and the answers are read, 503 (saying why) before.

Every request is answered within ``--wait`` s: a 503 with the reason when Kafka did not take it or
the booker did not answer in time (a hold the booker makes later is nobody's, and expires by
itself). The HTTP side starts at once, without Kafka: the api connects in the background whenever
Kafka arrives, however late, and answers 503 until then. A client started before Kafka and never
recovering when it arrived is the bug this project was built around.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from seats_kafka import Bus, log, retrying

Answer = tuple[int, dict[str, Any]]
CONFIRM, SEAT = re.compile(r"/holds/([0-9a-f]{1,32})/confirm"), re.compile(r"[A-Za-z0-9-]{1,16}")
NOT_YET: Answer = (503, {"error": "Kafka is not reachable yet"})


class Gateway:
    """Sends requests to the booker and hands each answer to the request waiting for it."""

    def __init__(self, bus: Bus, wait: float) -> None:
        self.bus, self.wait = bus, wait
        self.producer, self.consumer = bus.producer(), bus.consumer()
        self.connected = threading.Event()
        self.waiting: dict[str, queue.Queue[Answer]] = {}
        self.lock = threading.Lock()

    def run(self) -> None:
        """Connect (for as long as Kafka takes), then read answers for good; a crash ends the process,
        since an api that cannot hear answers any more must not look alive."""
        try:
            self.bus.ensure_topics()
            replies = TopicPartition(self.bus.replies, 0)
            _, end = retrying("read the answers' end", lambda: self.consumer.get_watermark_offsets(replies, 3.0))
            self.consumer.assign([TopicPartition(self.bus.replies, 0, end)])  # no request was sent before this
            self.connected.set()
            log(f"api ready: connected to Kafka, reading answers from offset {end}")
            while True:
                self.producer.poll(0)
                message = self.consumer.poll(0.1)
                if message is not None and not message.error():
                    self.answered(message)
        except Exception as exc:
            log(f"the api's Kafka loop failed: {exc!r}")
            os._exit(1)

    def answered(self, message: Message) -> None:
        try:
            reply = json.loads(message.value())
            self.finish(reply["id"], (int(reply["status"]), dict(reply["body"])))
        except (ValueError, KeyError, TypeError) as exc:
            log(f"skipped an unreadable answer at offset {message.offset()}: {exc!r}")

    def finish(self, request: str, answer: Answer) -> None:
        """The first answer wins (the booker's, Kafka's refusal or the timeout); later ones are dropped."""
        with self.lock:
            waiting = self.waiting.pop(request, None)
        if waiting is not None:
            waiting.put(answer)

    def ask(self, request: dict[str, Any]) -> Answer:
        """Send one request and wait, bounded, for what becomes of it."""
        if not self.connected.is_set():
            return NOT_YET
        rid, answer = uuid.uuid4().hex[:12], queue.Queue[Answer](maxsize=1)  # the id is the hold's, if one is made
        with self.lock:
            self.waiting[rid] = answer

        def refused(error: KafkaError | None, _: Message) -> None:
            if error is not None:
                self.finish(rid, (503, {"error": f"Kafka did not take the request: {error.str()}"}))

        try:
            self.producer.produce(self.bus.requests, json.dumps({"id": rid, **request}).encode(), on_delivery=refused)
        except (BufferError, KafkaException) as exc:  # its queue is full, or it refused the message
            self.finish(rid, (503, {"error": f"Kafka did not take the request: {exc}"}))
        try:
            return answer.get(timeout=self.wait)
        except queue.Empty:
            late = f"the booker did not answer within {self.wait:g} s (a hold it makes later expires by itself)"
            self.finish(rid, (503, {"error": late}))
            return answer.get()  # this timeout's, or an answer that came just before it


class Handler(BaseHTTPRequestHandler):
    gateway: Gateway

    def do_GET(self) -> None:
        if self.path != "/health":
            self.send(404, {"error": f"no GET {self.path}"})
        else:
            self.send(*(200, {"kafka": "connected"}) if self.gateway.connected.is_set() else NOT_YET)

    def do_POST(self) -> None:
        self.send(*self.route())

    def route(self) -> Answer:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except ValueError:
            return 400, {"error": "the body must be JSON"}
        confirm, seat = CONFIRM.fullmatch(self.path), body.get("seat") if isinstance(body, dict) else None
        if self.path == "/holds" and isinstance(seat, str) and SEAT.fullmatch(seat):
            return self.gateway.ask({"op": "hold", "seat": seat})
        if self.path == "/holds":
            return 400, {"error": 'give the seat as {"seat": "A1"}: letters, digits, dashes'}
        if confirm is not None:
            return self.gateway.ask({"op": "confirm", "hold": confirm[1]})
        return 404, {"error": f"no POST {self.path}"}

    def send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a line per request would drown what the log is for, Kafka's troubles."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="the HTTP port, on 127.0.0.1")
    parser.add_argument("--wait", type=float, default=3.0, help="seconds to wait for the booker's answer")
    args = parser.parse_args()
    Handler.gateway = Gateway(Bus(), args.wait)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    threading.Thread(target=Handler.gateway.run, name="kafka", daemon=True).start()
    log(f"api listening on 127.0.0.1:{args.port}")
    server.serve_forever()


if __name__ == "__main__":
    main()
