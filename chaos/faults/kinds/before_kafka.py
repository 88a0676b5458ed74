"""``before-kafka``: every broker is stopped, the service (re)starts; heal starts the brokers again."""

from chaos.faults.params import FaultSpecError
from chaos.faults.process import each, start_all
from chaos.faults.registry import register
from chaos.faults.start_order import StartEarlyFault
from chaos.faults.targets import names


@register
class BeforeKafka(StartEarlyFault):
    kind = "before-kafka"
    before = "Kafka"
    summary = "Stop all brokers and restart the service; heal starts the brokers and waits until they serve."

    def setup(self) -> None:
        super().setup()
        try:
            self.brokers = list(self.ctx.infra.brokers)
        except NotImplementedError as exc:
            raise FaultSpecError(f"fault {self.kind!r}: {exc}") from None

    def make_kafka_unavailable(self) -> None:
        infra, timeout = self.ctx.infra, self.ctx.broker_timeout
        self.on_heal(f"start {names(self.brokers)} again", lambda: start_all(self.brokers, infra, timeout))
        each(self.brokers, lambda b: b.stop())
