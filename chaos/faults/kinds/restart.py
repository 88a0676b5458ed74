"""``restart``: stop (or kill, with ``hard``) and start again at once; the heal has nothing to undo.

Unlike ``term``/``kill``, the outage is only as long as the restart itself: what is tested is that
peers ride through a process coming back with a fresh state (new connections, a new member id).
"""

from chaos.faults.base import Param
from chaos.faults.process import ProcessFault, each
from chaos.faults.registry import register


@register
class Restart(ProcessFault):
    kind = "restart"
    summary = "Restart the service(s) or broker(s) at once (apply returns when they are ready); heal is a no-op."
    PARAMS = {
        "hard": Param(False, "SIGKILL instead of SIGTERM", bool),
        "wait": Param(True, "return only once they are ready again", bool),
    }

    def _apply(self) -> None:
        processes = self.resolve(running_only=False)
        undo = self.on_heal("start them again", lambda: self.start_again(processes))
        each(processes, lambda p: p.kill() if self.params["hard"] else p.stop())
        for process in processes:
            process.start(wait=False)
        if self.params["wait"]:
            self.start_again(processes)
        self.forget(undo)
