"""A charging point: the engine (supplies energy, answers health checks) and its monitor."""
