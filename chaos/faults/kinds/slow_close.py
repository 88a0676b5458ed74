"""``slow_close``: a closing connection stays half-open for ``delay`` ms before the close gets through."""

from chaos.faults.network import ToxicFault, ms
from chaos.faults.registry import register


@register
class SlowClose(ToxicFault):
    kind = "slow_close"
    toxic_type = "slow_close"
    summary = "Delay the TCP close of connections on the link."
    ATTRIBUTES = {"delay": ms(1000, "how long the close is held back")}
