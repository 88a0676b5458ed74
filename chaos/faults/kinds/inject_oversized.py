"""``inject-oversized``: one JSON record far larger than any message the system sends; dead-lettered."""

from __future__ import annotations

import json

from chaos.faults.base import Param
from chaos.faults.messages import MessageFault
from chaos.faults.registry import register


@register
class InjectOversized(MessageFault):
    kind = "inject-oversized"
    summary = "Write one JSON record of `size` bytes (a huge string field) into a topic."
    PARAMS = {
        "size": Param(300_000, "the record's size in bytes (the broker takes up to about 1 MB)", int, 1024, 900_000),
    }

    def records(self, sample: bytes | None) -> list[tuple[bytes, str]]:
        shell = {"message_id": "oversized-1", "type": "oversized", "payload": {"filler": ""}}
        filler = "x" * max(0, self.params["size"] - len(json.dumps(shell)))
        value = json.dumps({**shell, "payload": {"filler": filler}}).encode()
        return [(value, f"a record of {len(value)} bytes")]
