"""Build Central's handlers on an in-memory store and drive them with real envelopes."""

from __future__ import annotations

from evcharge.central.handlers import CentralConfig, Outgoing
from evcharge.central.processor import Processor
from evcharge.central.store import Store
from evcharge.messages import (
    AuthorizationRequest,
    ChargingCompleted,
    ChargingStarted,
    Heartbeat,
    Message,
    Strict,
    encode,
    make,
)


class CentralHarness:
    """A Central without Kafka: ``send`` a payload, get the replies back."""

    def __init__(
        self, path: str = ":memory:", ttl: float = 10.0, heartbeat_timeout: float = 5.0,
        registered: frozenset[str] | None = None, stop_grace: float = 5.0,
    ) -> None:
        self.store = Store(path)
        config = CentralConfig(0.4, ttl, heartbeat_timeout, registered_cps=registered, stop_grace=stop_grace)
        self.processor = Processor(self.store, config)
        self.now = 1000.0

    def send_message(self, message: Message) -> list[Outgoing]:
        return self.send_raw(encode(message))

    def send_raw(self, raw: bytes) -> list[Outgoing]:
        with self.store.transaction():
            return self.processor.process(raw, self.now, "test")

    def send(self, body: Strict, source: str = "test") -> list[Outgoing]:
        return self.send_message(make(body, source))

    def sweep(self, check_heartbeats: bool = True) -> list[Outgoing]:
        """Sweep at ``now``, as if Central had heard everything up to ``now`` (if heartbeats are checked)."""
        return self.sweep_heard(self.now if check_heartbeats else None)

    def sweep_heard(self, heard_up_to: float | None) -> list[Outgoing]:
        """Sweep at ``now`` with heartbeats judged up to ``heard_up_to`` (None: not judged)."""
        with self.store.transaction():
            return self.processor.handlers.sweep(self.now, heard_up_to)

    def state(self, cp_id: str) -> str:
        cp = self.store.cp(cp_id)
        assert cp is not None
        return cp.state.value

    # -- shortcuts for the usual flow ------------------------------------------------------------
    def register(self, *cp_ids: str, ok: bool = True) -> None:
        for cp_id in cp_ids:
            self.send(Heartbeat(cp_id=cp_id, engine_ok=ok))

    def authorize(self, driver: str, cp_id: str | None = None, request_id: str = "r1") -> Strict:
        (reply,) = self.send(AuthorizationRequest(request_id=request_id, driver_id=driver, cp_id=cp_id))
        return reply.message.body

    def start(self, driver: str, cp_id: str | None = None) -> str:
        auth = self.authorize(driver, cp_id)
        assert auth.authorized, auth
        replies = self.send(ChargingStarted(reservation_id=auth.reservation_id, driver_id=driver, cp_id=auth.cp_id))
        return replies[0].message.body.session_id

    def complete(self, cp_id: str, session_id: str, kwh: float = 10.0, reason: str = "completed") -> list[Outgoing]:
        return self.send(ChargingCompleted(cp_id=cp_id, session_id=session_id, kwh=kwh, duration_s=60, reason=reason))

    def status(self, session_id: str) -> str:
        session = self.store.session(session_id)
        assert session is not None
        return session.status


def types(replies: list[Outgoing]) -> list[str]:
    return [r.message.type for r in replies]
