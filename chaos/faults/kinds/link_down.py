"""``link-down``: the link's proxies are disabled, refusing new connections and dropping open ones."""

from chaos.faults.network import LinkFault, disable_links
from chaos.faults.registry import register


@register
class LinkDown(LinkFault):
    kind = "link-down"
    summary = "Take the link down: connections are refused and open ones dropped."

    def describe(self) -> str:
        return f"{self.link.describe()} down"

    def _apply(self) -> None:
        disable_links(self, self.toxiproxy, self.proxies)
