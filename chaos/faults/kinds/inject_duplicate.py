"""``inject-duplicate``: the topic's latest record, written again; the system must act on it once only."""

from __future__ import annotations

from chaos.faults.base import Param
from chaos.faults.messages import IGNORED, MessageFault
from chaos.faults.registry import register


@register
class InjectDuplicate(MessageFault):
    kind = "inject-duplicate"
    summary = "Write the topic's latest record again, `copies` times (at-least-once delivery, made visible)."
    expect = IGNORED
    needs_sample = True
    PARAMS = {"copies": Param(2, "how many copies", int, 1, 100)}

    def records(self, sample: bytes | None) -> list[tuple[bytes, str]]:
        return [(sample or b"", f"copy {i + 1} of the latest record") for i in range(self.params["copies"])]
