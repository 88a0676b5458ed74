"""``kill``: SIGKILL (no shutdown hooks, no flush); heal starts the processes again."""

from chaos.faults.process import ProcessFault, each
from chaos.faults.registry import register


@register
class Kill(ProcessFault):
    kind = "kill"
    summary = "Kill the service(s) or broker(s) with SIGKILL; heal starts them again and waits until ready."

    def _apply(self) -> None:
        processes = self.resolve()
        self.heal_by_starting(processes)
        each(processes, lambda p: p.kill())
