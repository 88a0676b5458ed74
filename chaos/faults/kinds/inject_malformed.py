"""``inject-malformed``: records that are not a JSON object at all; each must be dead-lettered."""

from __future__ import annotations

from chaos.faults.messages import MessageFault
from chaos.faults.registry import register

MALFORMED = (
    (b'{"message_id": "m1", "type": ', "truncated JSON"),
    (b"\xff\xfe\x00binary\x00", "not UTF-8"),
    (b"", "an empty record"),
    (b"[1, 2, 3]", "JSON, but an array"),
    (b"null", "JSON null"),
)


@register
class InjectMalformed(MessageFault):
    kind = "inject-malformed"
    summary = "Write records that are not JSON objects (truncated, binary, empty, an array, null) into a topic."

    def records(self, sample: bytes | None) -> list[tuple[bytes, str]]:
        return list(MALFORMED)
