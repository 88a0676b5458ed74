"""``pause``: SIGSTOP (sockets stay open, nothing answers: the grey failure); heal sends SIGCONT."""

from chaos.faults.process import ProcessFault, each
from chaos.faults.registry import register
from chaos.faults.targets import names


@register
class Pause(ProcessFault):
    kind = "pause"
    summary = "Freeze the service(s) or broker(s) with SIGSTOP; heal resumes them with SIGCONT."
    leaves = "paused"

    def _apply(self) -> None:
        processes = self.resolve()
        self.on_heal(f"resume {names(processes)}", lambda: each(processes, lambda p: p.resume()))
        each(processes, lambda p: p.pause())
