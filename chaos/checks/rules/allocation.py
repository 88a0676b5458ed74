"""No resource is allocated to two holders at the same time.

The model, generic over systems: a resource is *acquired* by a holder when an ``acquire_event``
event, or an ok operation named in ``acquire_ops``, carries ``resource`` and the holder field
(falling back to the operation's process); it is *released* by a ``release_event`` event, or an
operation in ``release_ops`` that ended ok or unknown. To report only certain double allocations, an
acquisition counts from when it was confirmed (the ok) and a release from the earliest moment it
may have happened (its invoke); a release that ended ``fail`` did not happen. Reservations and
sessions both count: a system records each as a grant.

Then the clients' side: what each client was told (an ok operation in ``told_ops``, carrying the
resource and ``session_field``) must be a grant the system made, of that resource, to that client,
and no two clients may have been told the same grant. Judging the overlap in time on the clients'
beliefs would cry wolf (a client learns of its release late); judging each belief against the
system's record is exact, and catches a client acting on a grant that was someone else's.
"""

from __future__ import annotations

from chaos.checks.base import Judge, Verdict
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import register
from chaos.checks.views import markers
from chaos.core.history import History

RELEASE, ACQUIRE = 0, 1  # at the same instant, releases go first: the benefit of the doubt


@register
class NoDoubleAllocation:
    name = "no-double-allocation"

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        judge = Judge(self.name, history, params)
        timeline: list[tuple[float, int, str, str]] = []
        for marker in markers(history, [params.acquire_event], params.acquire_ops):
            resource = marker.get("resource")
            if resource is not None:
                holder = marker.get(params.holder_field) or marker.process
                timeline.append((marker.t, ACQUIRE, str(resource), str(holder)))
        for marker in markers(history, [params.release_event], params.release_ops, ("ok", "unknown")):
            resource = marker.get("resource")
            if resource is not None:
                holder = marker.get(params.holder_field) or marker.process
                timeline.append((marker.first_t, RELEASE, str(resource), str(holder)))
        holders: dict[str, list[str]] = {}
        reported: set[tuple[str, frozenset[str]]] = set()
        failures: list[Verdict] = []
        for t, action, resource, holder in self.ordered(timeline):
            current = holders.setdefault(resource, [])
            if action == RELEASE:
                if holder in current:
                    current.remove(holder)
                continue
            if holder in current:
                continue
            key = (resource, frozenset([*current, holder]))
            if current and key not in reported:
                reported.add(key)
                failures.append(
                    judge.failed(
                        f"{resource} allocated to {holder} while held by {', '.join(current)}",
                        resource,
                        t,
                        when="at",
                    )
                )
            current.append(holder)
        failures += self.told(judge, history, params)
        acquired = sum(1 for entry in timeline if entry[1] == ACQUIRE)
        return judge.verdicts(
            failures, f"{acquired} acquisitions over {len(holders)} resources, never two holders"
        )

    @staticmethod
    def ordered(timeline: list[tuple[float, int, str, str]]) -> list[tuple[float, int, str, str]]:
        """Time order; at one instant, releases of what is held go first (a hand-over is not a double
        allocation), then acquisitions, then the releases of what was acquired at that very instant
        (a grant made and undone in one step, e.g. a reservation released in the batch that made it)."""
        ordered: list[tuple[float, int, str, str]] = []
        held: set[tuple[str, str]] = set()
        entries = sorted(timeline)
        index = 0
        while index < len(entries):
            same = [e for e in entries[index:] if e[0] == entries[index][0]]
            index += len(same)
            releases = [e for e in same if e[1] == RELEASE]
            early = [e for e in releases if (e[2], e[3]) in held]
            late = [e for e in releases if (e[2], e[3]) not in held]
            acquires = [e for e in same if e[1] == ACQUIRE]
            ordered += [*early, *acquires, *late]
            held -= {(e[2], e[3]) for e in early}
            held |= {(e[2], e[3]) for e in acquires}
            held -= {(e[2], e[3]) for e in late}
        return ordered

    @staticmethod
    def told(judge: Judge, history: History, params: InvariantSpec) -> list[Verdict]:
        """Each grant a client was told of against the system's record of it."""
        if not params.told_ops:
            return []
        key = params.session_field
        grants = {str(m.get(key)): m for m in markers(history, [params.acquire_event], params.acquire_ops)
                  if m.get(key) is not None}
        if not grants:
            return []  # the system's record was not read: the other checks say so
        failures: list[Verdict] = []
        told_to: dict[str, str] = {}  # grant -> the first client (process) told it
        for marker in markers(history, (), params.told_ops):
            grant, resource = marker.get(key), marker.get("resource")
            holder = str(marker.get(params.holder_field) or marker.process)
            record = None if grant is None else grants.get(str(grant))
            problem = None
            if grant is None:
                problem = "naming no grant at all"
            elif record is None:
                problem = "which the system never granted"
            elif str(record.get("resource")) != str(resource) or str(record.get(params.holder_field)) != holder:
                problem = f"which the system granted to {record.get(params.holder_field)} on {record.get('resource')}"
            elif told_to.setdefault(str(grant), str(marker.process)) != str(marker.process):
                problem = f"which {told_to[str(grant)]} was told too"
            if problem:
                failures.append(judge.failed(f"{holder} was told it holds {resource} under {grant}, {problem}",
                                             None if resource is None else str(resource), marker.t, when="at"))
        return failures
