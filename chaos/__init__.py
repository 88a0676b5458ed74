"""The resilience harness: backends, the Kafka-aware network, faults, schedules, history and checks.

This package knows nothing about EV charging; a system is tied to it by a spec (``chaos.core.spec``).
"""

__version__ = "0.1.0"
