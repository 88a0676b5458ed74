"""``reset_peer``: connections are reset (TCP RST, "connection reset by peer") after ``timeout`` ms."""

from chaos.faults.network import ToxicFault, ms
from chaos.faults.registry import register


@register
class ResetPeer(ToxicFault):
    kind = "reset_peer"
    toxic_type = "reset_peer"
    summary = "Reset connections on the link with a TCP RST."
    SUITE_PARAMS = {"timeout": 500}
    ATTRIBUTES = {"timeout": ms(0, "delay before the reset, 0 for at once")}
