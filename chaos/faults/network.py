"""Network faults on links: the bases of the Toxiproxy toxic kinds and of link-down.

A link target resolves to one or more proxies (see ``chaos.faults.targets``). Each applied toxic gets
a name unique to this fault (``chaos-<kind>-<stream>-<token>``), so healing removes exactly this
fault's toxics even when other faults, or a test, added toxics to the same proxies.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar

from chaos.faults.base import BaseFault, Param
from chaos.faults.registry import fault_class, fault_kinds
from chaos.faults.targets import LinkTarget
from chaos.infra.toxiproxy.client import Stream, Toxic, ToxiproxyClient, ToxiproxyError

STREAMS: dict[str, tuple[Stream, ...]] = {
    "downstream": ("downstream",),
    "upstream": ("upstream",),
    "both": ("upstream", "downstream"),
}
COMMON = {
    "stream": Param(
        "downstream", "which direction: downstream (broker -> client), upstream (client -> broker) or both",
        str, choices=tuple(STREAMS),
    ),
    "toxicity": Param(1.0, "the fraction of connections affected", float, 0.0, 1.0),
}


def ms(default: int, help: str) -> Param:
    """A non-negative integer of milliseconds (what Toxiproxy's attributes take)."""
    return Param(default, help + " (ms)", int, 0)


class LinkFault(BaseFault):
    """A fault whose target is a link (``driver`` or ``driver@2``)."""

    def setup(self) -> None:
        self.link = LinkTarget.parse(self.target)
        self.proxies = self.link.proxies(self.ctx.infra)

    @property
    def toxiproxy(self) -> ToxiproxyClient:
        return self.ctx.infra.toxiproxy

    def describe(self) -> str:
        return f"{self.link.describe()} {self.kind}"


class ToxicFault(LinkFault):
    """One Toxiproxy toxic type with its attributes, on every proxy of the link and the chosen stream(s).

    Subclasses set ``toxic_type`` and ``ATTRIBUTES``; ``PARAMS`` adds ``stream`` and ``toxicity``.
    ``SUITE_PARAMS`` are the attributes a degraded-link suite applies this toxic with (so a new toxic
    joins that suite from its own file); ``None`` keeps it out: toxics that stall or close a link
    are cuts, which the link-cut suites cover.
    """

    toxic_type: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[dict[str, Param]] = {}
    SUITE_PARAMS: ClassVar[Mapping[str, Any] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.PARAMS = {**cls.ATTRIBUTES, **COMMON}

    def attributes(self) -> dict[str, Any]:
        return {name: self.params[name] for name in self.ATTRIBUTES}

    def _apply(self) -> None:
        token = uuid.uuid4().hex[:8]
        for proxy in self.proxies:
            for stream in STREAMS[self.params["stream"]]:
                toxic = Toxic(
                    f"chaos-{self.kind}-{stream}-{token}", self.toxic_type, stream,
                    self.params["toxicity"], self.attributes(),
                )
                self.toxiproxy.add_toxic(proxy, toxic)
                self.on_heal(f"remove toxic {toxic.name} from {proxy}", _remover(self.toxiproxy, proxy, toxic.name))


def _remover(client: ToxiproxyClient, proxy: str, toxic: str) -> Any:
    def remove() -> None:
        try:
            client.remove_toxic(proxy, toxic)
        except ToxiproxyError as exc:
            if exc.status != 404:  # already gone (a reset, a test) is healed
                raise

    return remove


def degraded_link_kinds() -> dict[str, Mapping[str, Any]]:
    """Toxic kind -> the parameters a degraded-link suite applies it with, from the registry."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for kind in fault_kinds(of=ToxicFault):
        params = getattr(fault_class(kind), "SUITE_PARAMS", None)
        if params is not None:
            chosen[kind] = dict(params)
    return chosen


def disable_links(fault: BaseFault, client: ToxiproxyClient, proxies: list[str]) -> None:
    """Disable the proxies that are enabled now; the fault's heal re-enables exactly those.

    A proxy someone else already disabled is left to them, so nested link cuts heal in order.
    """
    for proxy in proxies:
        if not client.get(proxy).enabled:
            continue
        fault.on_heal(f"enable proxy {proxy}", partial(client.enable, proxy))
        client.disable(proxy)
