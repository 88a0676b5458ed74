"""``term``: SIGTERM (a clean shutdown, SIGKILL after ``timeout`` s); heal starts the processes again."""

from chaos.faults.base import Param
from chaos.faults.process import ProcessFault, each
from chaos.faults.registry import register


@register
class Term(ProcessFault):
    kind = "term"
    summary = "Stop the service(s) or broker(s) with SIGTERM; heal starts them again and waits until ready."
    PARAMS = {"timeout": Param(10.0, "seconds to wait for the exit before SIGKILL", float, 0.1)}

    def _apply(self) -> None:
        processes = self.resolve()
        self.heal_by_starting(processes)
        each(processes, lambda p: p.stop(timeout=self.params["timeout"]))
