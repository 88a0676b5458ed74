"""Process faults on services or brokers: the base class and the start/stop helpers they share.

Which processes a target means is decided at ``apply`` (a leader moves), and the fault remembers
them, so the heal restarts or resumes exactly the processes it broke and only those that were
running before. Groups are stopped and started together: three KRaft brokers started one by one,
each waiting to be ready, would wait forever for a quorum that the next ones provide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from chaos.faults.base import BaseFault
from chaos.faults.targets import BrokerGroup, names, parse_process_target, resolve
from chaos.infra.backends.base import Infra, Lifecycle


def each(processes: Sequence[Lifecycle], action: Callable[[Lifecycle], object]) -> None:
    """Run ``action`` on every process at once (stopping a broker can take seconds)."""
    if len(processes) <= 1:
        for process in processes:
            action(process)
        return
    with ThreadPoolExecutor(len(processes)) as pool:
        list(pool.map(action, processes))


def start_all(processes: Sequence[Lifecycle], cluster: Infra | None = None, timeout: float = 90.0) -> None:
    """Start what is not running, wait until each is ready and, given the ``cluster``, until it serves."""
    for process in processes:
        if not process.is_running():
            process.start(wait=False)
    for process in processes:
        process.wait_ready()
    if cluster is not None and processes:
        cluster.wait_brokers(timeout=timeout)
        cluster.brokers_back()


class ProcessFault(BaseFault):
    """A fault on a service of the system (by name) or on brokers (``broker:...``)."""

    leaves = "down"
    """What its target is while the fault holds (``down`` or ``paused``): the timeline's process lanes."""

    def setup(self) -> None:
        self.what = parse_process_target(self.target, self.ctx.services, self.ctx.infra)
        self.hit: list[Lifecycle] = []

    def describe(self) -> str:
        return f"{self.what.describe()} {self.kind}"

    @property
    def on_brokers(self) -> bool:
        return isinstance(self.what, BrokerGroup)

    def resolve(self, running_only: bool = True) -> list[Lifecycle]:
        """The processes hit by this application of the fault (recorded in ``self.hit``)."""
        processes = resolve(self.what, self.ctx.services, self.ctx.infra)
        self.hit = [p for p in processes if p.is_running()] if running_only else processes
        return self.hit

    def start_again(self, processes: Sequence[Lifecycle]) -> None:
        start_all(processes, self.ctx.infra if self.on_brokers else None, self.ctx.broker_timeout)

    def heal_by_starting(self, processes: Sequence[Lifecycle]) -> None:
        """Register the heal of a stop: start them again (pushed before stopping, so a half-done stop heals)."""
        self.on_heal(f"start {names(processes)} again", lambda: self.start_again(processes))
