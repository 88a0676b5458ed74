"""The engine's local TCP line protocol, shared by the engine (server) and the monitor (client).

One request line, one answer line: ``PING`` -> ``OK`` or ``KO``; ``KO`` / ``OK`` force the engine
into failure or back to health (the "key that forces a KO" of the original statement, usable from
scripts and from the harness); ``STATUS`` -> one JSON line. Plain TCP keeps the monitor independent
of Kafka: it can tell "engine broken" from "Kafka away".
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable

Handler = Callable[[str], str]


class HealthServer:
    """A threaded TCP server answering one line per connection with ``handler(line)``."""

    def __init__(self, host: str, port: int, handler: Handler) -> None:
        class _Request(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(256).decode("ascii", "replace").strip().upper()
                self.wfile.write((handler(line) + "\n").encode())

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((host, port), _Request)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait for ever on a loop that never ran
            self._server.shutdown()
        self._server.server_close()


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
