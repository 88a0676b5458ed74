"""``limit_data``: each connection is closed once ``bytes`` bytes have passed."""

from chaos.faults.base import Param
from chaos.faults.network import ToxicFault
from chaos.faults.registry import register


@register
class LimitData(ToxicFault):
    kind = "limit_data"
    toxic_type = "limit_data"
    summary = "Close each connection on the link after a number of bytes."
    SUITE_PARAMS = {"bytes": 4096}
    ATTRIBUTES = {"bytes": Param(0, "bytes let through before the close", int, 0)}
