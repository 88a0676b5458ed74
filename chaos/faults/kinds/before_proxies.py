"""``before-proxies``: the service (re)starts with its role's links cut; heal enables them."""

from chaos.faults.network import disable_links
from chaos.faults.params import FaultSpecError
from chaos.faults.registry import register
from chaos.faults.start_order import StartEarlyFault
from chaos.faults.targets import LinkTarget


@register
class BeforeProxies(StartEarlyFault):
    kind = "before-proxies"
    before = "its proxies"
    summary = "Restart the service with its Kafka role's links cut; heal enables the links."

    def setup(self) -> None:
        super().setup()
        role = self.params["role"] or self.ctx.roles.get(self.target)
        if role is None:
            raise FaultSpecError(
                f"fault {self.kind!r} on {self.target!r}: which Kafka role does it use? "
                "give params {role: ...} or the context's roles"
            )
        self.proxies = LinkTarget(role).proxies(self.ctx.infra)

    def make_kafka_unavailable(self) -> None:
        disable_links(self, self.ctx.infra.toxiproxy, self.proxies)
