"""The nemesis: what breaks, and when. Schedules as data, a seeded generator, and a runner.

Following Jepsen, this is kept apart from the clients (what the system is asked to do) and the
checks (how the recorded history is judged): a schedule names fault kinds and targets, and the
concrete faults come from a factory the caller passes in.
"""

from chaos.nemesis.generator import MenuItem, generate
from chaos.nemesis.runner import Fault, FaultFactory, NemesisError, ScheduleRunner
from chaos.nemesis.schedule import HEAL_ALL, Schedule, ScheduleBuilder, ScheduleError, Step

__all__ = [
    "HEAL_ALL",
    "Fault",
    "FaultFactory",
    "MenuItem",
    "NemesisError",
    "Schedule",
    "ScheduleBuilder",
    "ScheduleError",
    "ScheduleRunner",
    "Step",
    "generate",
]
