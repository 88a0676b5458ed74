"""Checks: invariants judged over a recorded history, one rule per module, all behind one interface.

Importing this package registers every built-in check; ``run_checks(history, params)`` runs them.
"""

import chaos.checks.rules  # noqa: F401 - registers every rule in its folder
from chaos.checks.base import Check, Judge, Verdict
from chaos.checks.measures import LatencyStats, Recovery, latency_percentiles, time_to_recovery
from chaos.checks.params import InvariantSpec
from chaos.checks.registry import check_names, get_check, register, run_checks

__all__ = [
    "Check",
    "InvariantSpec",
    "Judge",
    "LatencyStats",
    "Recovery",
    "Verdict",
    "check_names",
    "get_check",
    "latency_percentiles",
    "register",
    "run_checks",
    "time_to_recovery",
]
