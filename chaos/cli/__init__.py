"""The ``evchaos`` command line: ``main`` (infra, report, check) and ``check`` (judge a saved history)."""
