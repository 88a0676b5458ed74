"""Workloads as data: what the clients do, beside what breaks (``chaos.nemesis``) and what is judged.

Jepsen's generators are the model: a ``Workload`` says which clients there are, the mix of
operations they draw from, on which targets, how long they think between operations, how many may
be in flight at once and for how long; ``ClosedLoop`` plays it. Each client waits for its previous
operation to end before it thinks and draws the next (a closed loop: the load follows what the
system can serve, as real users do). The operations themselves are the system's to perform and to
record in the history (invoke, then ok / fail / unknown); this package knows none of them.
"""

from chaos.workload.loop import ClosedLoop, Invocation, Perform
from chaos.workload.spec import Workload

__all__ = ["ClosedLoop", "Invocation", "Perform", "Workload"]
