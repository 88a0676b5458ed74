"""``timeout``: data stops flowing; the connection is closed after ``timeout`` ms, or never if 0.

``timeout: 0`` is a blackhole: connections open but nothing comes back until the fault is healed,
the failure that makes clients wait out their own timeouts (unlike link-down, which they notice).
"""

from chaos.faults.network import ToxicFault, ms
from chaos.faults.registry import register


@register
class Timeout(ToxicFault):
    kind = "timeout"
    toxic_type = "timeout"
    summary = "Stop all data on the link, closing connections after timeout ms (0: never, a blackhole)."
    ATTRIBUTES = {"timeout": ms(0, "delay before connections are closed, 0 for never")}
