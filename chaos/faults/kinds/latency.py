"""``latency``: every chunk of data waits ``latency`` ms, plus or minus ``jitter`` ms."""

from chaos.faults.network import ToxicFault, ms
from chaos.faults.registry import register


@register
class Latency(ToxicFault):
    kind = "latency"
    toxic_type = "latency"
    summary = "Delay data on the link by latency +/- jitter."
    SUITE_PARAMS = {"latency": 300, "jitter": 100}
    ATTRIBUTES = {"latency": ms(1000, "added delay"), "jitter": ms(0, "random +/- variation of the delay")}
