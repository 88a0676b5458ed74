"""``inject-forged``: records that claim a sender they cannot prove, as an attacker would write them."""

from __future__ import annotations

from chaos.faults.base import FaultSpecError
from chaos.faults.messages import REFUSED, MessageFault
from chaos.faults.registry import register


@register
class InjectForged(MessageFault):
    kind = "inject-forged"
    summary = ("Write the system's forged records for the topic (every message type it reads there, each claiming "
               "an identity it cannot prove); each must be refused, dead-lettered and audited.")
    expect = REFUSED

    def setup(self) -> None:
        super().setup()
        if self.ctx.forger is None:
            raise FaultSpecError(f"{self.kind}: the system's spec gives no forgeries (SystemSpec.forgeries): "
                                 "only the system knows what a forged message of its own looks like")

    def records(self, sample: bytes | None) -> list[tuple[bytes, str]]:
        assert self.ctx.forger is not None  # checked in setup
        made = list(self.ctx.forger(self.target))
        if not made:
            raise FaultSpecError(f"{self.kind}: the system's forgeries hold nothing for topic {self.target!r}")
        return made
