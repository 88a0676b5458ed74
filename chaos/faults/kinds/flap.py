"""``flap``: the link goes down and comes back, again and again, for as long as the fault lasts.

A link that drops once tests one reconnect; a flapping one tests what a client does when each
reconnect is cut short (backoff that grows without bound, a producer re-created on every drop,
a consumer group that rebalances at each return). The toggling runs in a thread of its own; the
heal stops it and leaves every proxy it flapped enabled.
"""

from __future__ import annotations

import threading

from chaos.faults.network import LinkFault, ms
from chaos.faults.registry import register


@register
class Flap(LinkFault):
    kind = "flap"
    summary = "Take the link down for `down` ms, then up for `up` ms, over and over until healed."
    PARAMS = {"down": ms(500, "how long each outage lasts"), "up": ms(500, "how long the link is back between outages")}

    def describe(self) -> str:
        return f"{self.link.describe()} flapping"

    def _apply(self) -> None:
        flapped = [proxy for proxy in self.proxies if self.toxiproxy.get(proxy).enabled]  # others' cuts stay theirs
        self.toggles = 0
        stop = threading.Event()
        self.on_heal(f"enable {', '.join(flapped)}", lambda: self._set(flapped, enabled=True))
        self._set(flapped, enabled=False)  # the first outage now, so a broken API fails the apply
        thread = threading.Thread(target=self._flap, args=(flapped, stop), name=f"flap-{self.target}", daemon=True)

        def stop_flapping() -> None:
            stop.set()
            thread.join(timeout=5)

        self.on_heal("stop flapping", stop_flapping)
        thread.start()

    def _set(self, proxies: list[str], enabled: bool) -> None:
        for proxy in proxies:
            self.toxiproxy.set_enabled(proxy, enabled)
        self.toggles += 1

    def _flap(self, proxies: list[str], stop: threading.Event) -> None:
        """Up, down, up, ... until healed; a failed toggle is retried at the next turn, not fatal."""
        enabled = False
        while not stop.wait(self.params["down" if not enabled else "up"] / 1000):
            try:
                self._set(proxies, enabled=not enabled)
                enabled = not enabled
            except Exception as exc:  # the Toxiproxy API may stall under load: try again next turn
                print(f"[evchaos] {self.name}: toggling failed ({exc}); retrying", flush=True)
