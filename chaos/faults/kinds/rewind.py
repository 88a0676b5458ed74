"""``rewind``: make a consumer read again what it already processed; heal starts it again.

Redelivery is Kafka's normal failure mode (a consumer killed after it acted and before it
committed; a rebalance), and it is what exactly-once claims must survive. This fault makes it
certain instead of lucky: it kills the service, removes its members from its consumer group (a
static member would otherwise hold the group for its whole session timeout), moves the group's
committed offsets back by ``records`` per partition through the admin API, and on heal starts the
service, which then reads those records a second time.

The group is the run's topic prefix plus ``group`` (default: the service's name). What was rewound
(partition, from, to) is the fault's evidence.

A group that has committed nothing yet has nothing to read again: the fault waits up to
``COMMIT_WAIT`` s for its first commit, and if none comes it still kills and restarts the service
and says so in its evidence (``not_rewound``) instead of failing the run. Why: under load a
schedule's rewind of an engine fired before any command had reached that engine (its first one
came a second later), and the whole scenario failed for the harness's timing, not the system's.
"""

from __future__ import annotations

import time
from typing import Any

from chaos.faults.base import FaultError, FaultSpecError, Param
from chaos.faults.process import ProcessFault
from chaos.faults.registry import register
from chaos.faults.targets import ServiceTarget
from chaos.infra.endpoints import KafkaAccess
from chaos.infra.kafka_client import require_kafka_python
from chaos.infra.records import admin_client

COMMIT_WAIT = 10.0
"""Seconds a rewind waits for its group's first commit before it gives up rewinding (module doc)."""


@register
class Rewind(ProcessFault):
    kind = "rewind"
    summary = "Kill a service, rewind its consumer group's committed offsets by N records; heal starts it."
    PARAMS = {
        "records": Param(50, "how many records back, on every partition the group committed", int,
                         min=1, max=1_000_000),
        "group": Param("", "the group's name after the run's topic prefix (default: the service's name)", str),
    }

    def setup(self) -> None:
        super().setup()
        if not isinstance(self.what, ServiceTarget):
            raise FaultSpecError(f"rewind: the target must be a service, not {self.target!r}")
        self.group = f"{self.ctx.topic_prefix}{self.params['group'] or self.what.name}"
        self.rewound: list[dict[str, Any]] = []
        self.not_rewound: str | None = None

    def describe(self) -> str:
        return f"{self.target} rewind {self.params['records']} records"

    def evidence(self) -> dict[str, Any]:
        if self.not_rewound:
            return {"not_rewound": self.not_rewound}
        return {"rewound": self.rewound} if self.rewound else {}

    def _apply(self) -> None:
        [process] = self.resolve(running_only=False)
        access = self.ctx.infra.endpoints.harness_access()
        self.not_rewound = None
        if not wait_committed(access, self.group, COMMIT_WAIT):
            self.not_rewound = (f"group {self.group!r} committed no offsets within {COMMIT_WAIT:g} s:"
                                " restarted, nothing read again")
        self.heal_by_starting([process])
        process.kill()
        if self.not_rewound is None:
            self.rewound = rewind(access, self.group, int(self.params["records"]))


def wait_committed(access: KafkaAccess, group: str, timeout: float) -> bool:
    """Whether ``group`` has committed an offset, waiting up to ``timeout`` s for its first one."""
    require_kafka_python("the rewind fault")
    from kafka.errors import KafkaError

    admin = admin_client(access)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if admin.list_group_offsets([group]).get(group):
                    return True
            except KafkaError:  # no coordinator yet (a group that never joined): not committed yet
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
    finally:
        admin.close()


def rewind(access: KafkaAccess, group: str, back: int) -> list[dict[str, Any]]:
    """Empty ``group`` of its members, move each committed offset back by ``back``; what moved."""
    from kafka.admin import MemberToRemove
    from kafka.structs import OffsetAndMetadata

    admin = admin_client(access)
    try:
        committed = admin.list_group_offsets([group]).get(group) or {}
        if not committed:
            raise FaultError(f"group {group!r} has committed no offsets: nothing to rewind (has it consumed yet?)")
        described = admin.describe_groups([group]).get(group) or {}
        members = [
            MemberToRemove(member_id=None if m.get("group_instance_id") else m.get("member_id"),
                           group_instance_id=m.get("group_instance_id"))
            for m in described.get("members") or ()
        ]
        if members:
            admin.remove_group_members(group, members)
        moved = {tp: OffsetAndMetadata(max(0, meta.offset - back), "", None) for tp, meta in committed.items()}
        errors = {tp: error for tp, error in admin.alter_group_offsets(group, moved).items() if error.errno}
        if errors:
            failed = ", ".join(f"{tp}: {error.__name__}" for tp, error in errors.items())
            raise FaultError(f"rewinding {group!r} failed: {failed}")
        return [{"topic": tp.topic, "partition": tp.partition, "from": committed[tp].offset, "to": meta.offset}
                for tp, meta in sorted(moved.items())]
    finally:
        admin.close()
