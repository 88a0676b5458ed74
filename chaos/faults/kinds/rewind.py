"""``rewind``: make a consumer read again what it already processed; heal starts it again.

Redelivery is Kafka's normal failure mode (a consumer killed after it acted and before it
committed; a rebalance), and it is what exactly-once claims must survive. This fault makes it
certain instead of lucky: it kills the service, removes its members from its consumer group (a
static member would otherwise hold the group for its whole session timeout), moves the group's
committed offsets back by ``records`` per partition through the admin API, and on heal starts the
service, which then reads those records a second time.

The group is the run's topic prefix plus ``group`` (default: the service's name). What was rewound
(partition, from, to) is the fault's evidence.
"""

from __future__ import annotations

from typing import Any

from chaos.faults.base import FaultError, FaultSpecError, Param
from chaos.faults.process import ProcessFault
from chaos.faults.registry import register
from chaos.faults.targets import ServiceTarget
from chaos.infra.topology import HARNESS_ROLE


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

    def describe(self) -> str:
        return f"{self.target} rewind {self.params['records']} records"

    def evidence(self) -> dict[str, Any]:
        return {"rewound": self.rewound} if self.rewound else {}

    def _apply(self) -> None:
        [process] = self.resolve(running_only=False)
        self.heal_by_starting([process])
        process.kill()
        self.rewound = rewind(self.ctx.infra.endpoints.bootstrap(HARNESS_ROLE), self.group, int(self.params["records"]))


def rewind(bootstrap: str, group: str, back: int) -> list[dict[str, Any]]:
    """Empty ``group`` of its members, move each committed offset back by ``back``; what moved."""
    from kafka.admin import KafkaAdminClient, MemberToRemove
    from kafka.structs import OffsetAndMetadata

    from chaos.infra.records import FAST

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **FAST)
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
