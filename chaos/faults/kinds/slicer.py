"""``slicer``: data is cut into small pieces (about ``average_size`` bytes), optionally ``delay`` us apart.

Slicing finds parsers that assume one read returns one whole message.
"""

from chaos.faults.base import Param
from chaos.faults.network import ToxicFault
from chaos.faults.registry import register


@register
class Slicer(ToxicFault):
    kind = "slicer"
    toxic_type = "slicer"
    summary = "Slice data on the link into small packets, optionally delayed."
    SUITE_PARAMS = {"average_size": 64, "size_variation": 32, "delay": 200}
    ATTRIBUTES = {
        "average_size": Param(1, "average slice size (bytes)", int, 1),
        "size_variation": Param(0, "random +/- variation of the slice size (bytes)", int, 0),
        "delay": Param(0, "pause between slices (microseconds)", int, 0),
    }
