"""Structured JSON logs: one object per line with the component, the ids and the message_id.

Why a context variable: the ids of the message being handled (``message_id``, ``cp_id``,
``driver_id``...) are bound once by the dispatcher (``bound(...)``) and then appear on every line
written while handling it, including lines from helpers that never saw the message. That keeps the
"ids on every line" promise without threading ids through every call.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("evcharge_log_context", default=None)
_component = "evcharge"
# Process-wide ids (e.g. the CP id of an engine): a plain dict, because threads do not inherit contextvars.
_process_ids: dict[str, Any] = {}

# Attributes every LogRecord has; anything else passed via ``extra=`` is a field of ours.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object: ts, level, component, msg, bound ids, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "component": _component,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_process_ids)
        entry.update(_context.get() or {})
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup(component: str, level: str = "INFO") -> None:
    """Send every log line of this process to stderr as JSON, tagged with ``component``."""
    global _component
    _component = component
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # kafka-python is chatty at INFO (every connect attempt); its warnings are enough.
    logging.getLogger("kafka").setLevel(max(logging.WARNING, root.level))
    # ... but it warns "credentials in the clear" on every SCRAM login over SASL_PLAINTEXT, which is
    # wrong for SCRAM (a challenge-response: the password never crosses) and would fill the logs.
    logging.getLogger("kafka.net.sasl.scram").setLevel(max(logging.ERROR, root.level))


@contextlib.contextmanager
def bound(**ids: Any) -> Iterator[None]:
    """Attach ``ids`` (None values skipped) to every log line written inside the block."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind_process(**ids: Any) -> None:
    """Attach ids for the whole life of the process (e.g. the CP id of an engine)."""
    _process_ids.update({k: v for k, v in ids.items() if v is not None})
