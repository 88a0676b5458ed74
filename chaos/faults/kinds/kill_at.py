"""``kill-at``: SIGKILL a service at a named step of its own code (a failpoint); heal starts it again.

Killing from outside lands anywhere: between a database commit and an offset commit is a window of
microseconds no log watcher can hit. So the system names its steps (failpoints) and reads which are
armed from a file the harness gives it (``{failpoints}`` in its spec); at an armed point it stops
itself (SIGSTOP). This fault arms the point, waits until the process is stopped there, kills it,
and on heal disarms the point (a fresh process must not stop again) and starts the service.
"""

from __future__ import annotations

import time

from chaos.faults.base import FaultError, FaultSpecError, Param
from chaos.faults.process import ProcessFault
from chaos.faults.registry import register
from chaos.faults.targets import ServiceTarget


@register
class KillAt(ProcessFault):
    kind = "kill-at"
    summary = "Arm a failpoint in one service, wait until the service stops itself there, SIGKILL it; heal starts it."
    PARAMS = {
        "point": Param("", "the failpoint's name, as the system names it (e.g. service.db-committed)", str),
        "within": Param(30.0, "seconds to wait for the service to reach the point", float, min=0.1, max=600),
    }

    def setup(self) -> None:
        super().setup()
        if not isinstance(self.what, ServiceTarget):
            raise FaultSpecError(f"kill-at: the target must be a service, not {self.target!r}")
        if not self.params["point"]:
            raise FaultSpecError("kill-at needs params.point: the name of a failpoint of the service")
        file = self.ctx.failpoints.get(self.what.name)
        if file is None:
            raise FaultSpecError(f"kill-at: no failpoints file is known for {self.what.name!r}")
        self.file = file

    def describe(self) -> str:
        return f"{self.target} kill at {self.params['point']}"

    def _apply(self) -> None:
        [process] = self.resolve(running_only=False)
        point = str(self.params["point"])
        self.file.write_text(point + "\n")
        self.on_heal(f"start {process.name} again", lambda: self.start_again([process]))
        self.on_heal(f"disarm {point}", lambda: self.file.write_text(""))
        deadline = time.monotonic() + float(self.params["within"])
        while not getattr(process, "is_paused", lambda: False)():
            if not process.is_running():
                raise FaultError(f"{process.name} exited before reaching {point}")
            if time.monotonic() > deadline:
                raise FaultError(f"{process.name} did not reach failpoint {point} within {self.params['within']:g} s "
                                 "(is the point on a path this scenario exercises?)")
            time.sleep(0.01)
        process.kill()
