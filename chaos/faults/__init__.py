"""The fault library: every way the harness breaks a system, behind one small interface.

Like Toxiproxy's toxics, each kind is one file in ``chaos.faults.kinds`` (adding a fault is adding a
file), registered by name. A ``FaultContext`` (the backend plus the system's services) turns
``(kind, target, params)`` into a live fault; its ``make_fault`` is the nemesis runner's factory::

    ctx = FaultContext(infra, services={"central": central}, roles={"central": "central"})
    fault = ctx.make_fault("timeout", "driver@2", {"timeout": 0, "stream": "both"})
    fault.apply(); ...; fault.heal()          # heal is idempotent and undoes only this fault
    ScheduleRunner(schedule, ctx.make_fault, history).run()

The kinds are whatever files ``chaos/faults/kinds`` holds: ``fault_kinds()`` lists them,
``describe_kinds()`` says what each does and takes, and ``evchaos faults`` prints that list (no
other list of kinds is kept anywhere). Targets: see ``chaos.faults.targets``.
"""

from chaos.faults.base import BaseFault, FaultError
from chaos.faults.context import FaultContext
from chaos.faults.links import cut, link_down
from chaos.faults.params import FaultSpecError, Param
from chaos.faults.registry import describe_kinds, fault_class, fault_kinds, make_fault, register
from chaos.faults.start_order import started_early
from chaos.faults.targets import BrokerGroup, LinkTarget, ServiceTarget, parse_process_target

__all__ = [
    "BaseFault",
    "BrokerGroup",
    "FaultContext",
    "FaultError",
    "FaultSpecError",
    "LinkTarget",
    "Param",
    "ServiceTarget",
    "cut",
    "describe_kinds",
    "fault_class",
    "fault_kinds",
    "link_down",
    "make_fault",
    "parse_process_target",
    "register",
    "started_early",
]
