"""The engine's local TCP line protocol, shared by the engine (server) and the monitor (client).

One request line, one answer line: ``PING`` -> ``OK`` or ``KO``; ``KO`` / ``OK`` force the engine
into failure or back to health (the "key that forces a KO" of the original statement, usable from
scripts and from the harness); ``STATUS`` -> one JSON line. Plain TCP keeps the monitor independent
of Kafka: it can tell "engine broken" from "Kafka away". ``PING`` answers ``KO`` too while one of the
engine's own loops is down (see ``Engine.healthy``): an engine that cannot hear Central must not be
offered to drivers.
"""

from __future__ import annotations

import logging
import socket
import socketserver
from collections.abc import Callable

from evcharge.supervise import Served

Handler = Callable[[str], str]
log = logging.getLogger("evcharge.health")


class HealthServer:
    """A threaded TCP server answering one line per connection with ``handler(line)``.

    A handler that raises answers ``KO`` (and is logged): a broken engine is not a healthy one.
    """

    def __init__(self, host: str, port: int, handler: Handler) -> None:
        class _Request(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(256).decode("ascii", "replace").strip().upper()
                try:
                    answer = handler(line)
                except Exception:
                    log.exception("health handler failed", extra={"line": line[:32]})
                    answer = "KO"
                self.wfile.write((answer + "\n").encode())

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer((host, port), _Request)
        server.daemon_threads = True
        self._served = Served(server, "health")
        self.loop = self._served.loop
        self.port = self._served.port

    def start(self) -> HealthServer:
        self._served.start()
        return self

    def close(self) -> None:
        self._served.close()


def ask(host: str, port: int, command: str = "PING", timeout: float = 0.5) -> str:
    """Send one command line to an engine; returns its answer line. Raises OSError if unreachable."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall((command + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.decode("ascii", "replace").strip()
