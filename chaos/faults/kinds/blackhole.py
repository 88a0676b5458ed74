"""``blackhole``: shorthand for ``timeout`` with ``timeout: 0``, a link that swallows everything."""

from chaos.faults.kinds.timeout import Timeout
from chaos.faults.registry import register


@register
class Blackhole(Timeout):
    kind = "blackhole"
    summary = "Swallow all data on the link; connections stay open and silent until healed."
    ATTRIBUTES = {}

    def attributes(self) -> dict[str, object]:
        return {"timeout": 0}
