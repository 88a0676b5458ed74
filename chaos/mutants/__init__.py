"""The mutation score: the suite is judged by the deliberate bugs it catches.

A mutant is a patch file (a realistic bug, as a careful reviewer would plant it) whose header names
the rule that must catch it. ``evchaos mutants`` applies each to a fresh copy of the project, runs
the suite there, and prints a kill matrix: which mutants died, by which rules, in which scenarios,
and whether the rule that names the bug was among them. A mutant nobody kills is a hole in the
suite; one killed only by another rule is caught by accident.
"""
