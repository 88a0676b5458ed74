"""``bandwidth``: the link carries at most ``rate`` KB/s."""

from chaos.faults.base import Param
from chaos.faults.network import ToxicFault
from chaos.faults.registry import register


@register
class Bandwidth(ToxicFault):
    kind = "bandwidth"
    toxic_type = "bandwidth"
    summary = "Limit the link's throughput."
    SUITE_PARAMS = {"rate": 16}
    ATTRIBUTES = {"rate": Param(1, "throughput limit (KB/s)", int, 1)}
