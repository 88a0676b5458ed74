"""Root fixtures: the EV charging network wired to the harness.

The generic fixtures (``infra``, ``infra3``, ``topic_prefix``) come from the ``evchaos`` pytest plugin
(``chaos/pytest_plugin.py``), installed with the package. This file adds what is specific to our
system: the EV network's system-under-test spec.
"""
