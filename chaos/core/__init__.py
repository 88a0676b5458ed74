"""The core of a run: the history (one clock, one JSON-lines record), the system-under-test spec,
the running system, and the scenario that ties workload, nemesis and checks together."""
