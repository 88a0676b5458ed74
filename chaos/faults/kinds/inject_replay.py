"""``inject-replay``: the topic's earliest record, written again: an old message arriving once more."""

from __future__ import annotations

from chaos.faults.messages import IGNORED, MessageFault
from chaos.faults.registry import register


@register
class InjectReplay(MessageFault):
    kind = "inject-replay"
    summary = "Write the topic's earliest record again (a replay from the past); nothing may act on it twice."
    expect = IGNORED
    needs_sample = True
    sample_from = "earliest"

    def records(self, sample: bytes | None) -> list[tuple[bytes, str]]:
        return [(sample or b"", "the earliest record, replayed")]
