"""``inject-nested``: a few kilobytes of deeply nested JSON, the record that used to crash-loop a consumer."""

from __future__ import annotations

from chaos.faults.base import Param
from chaos.faults.messages import MessageFault
from chaos.faults.registry import register


@register
class InjectNested(MessageFault):
    kind = "inject-nested"
    summary = "Write JSON nested `depth` levels deep (objects and arrays) into a topic."
    PARAMS = {"depth": Param(5000, "nesting depth (Python's json recursion limit is about 1000)", int, 2, 100_000)}

    def records(self, sample: bytes | None) -> list[tuple[bytes, str]]:
        depth = self.params["depth"]
        shell = b'{"message_id": "nested-%d", "type": "x", "payload": %s}'
        arrays = shell % (1, b"[" * depth + b"]" * depth)
        objects = shell % (2, b'{"a": ' * depth + b"1" + b"}" * depth)
        return [(arrays, f"arrays nested {depth} deep"), (objects, f"objects nested {depth} deep")]
