"""Reports of a chaos run: Allure attachments and labels, the timeline plot, the console summary, the HTML.

- ``chaos.report.allure``: attach schedule, history, logs, verdicts, recovery and timeline; label results.
- ``chaos.report.timeline``: the PNG timeline (states as bands, fault windows shaded).
- ``chaos.report.console``: the plain summary table; ``chaos.report.pytest_hooks`` prints it in pytest.
- ``chaos.report.html``: ``evchaos report``, the Allure 3 command line (installed from npm) building HTML.

Nothing is imported here, so ``import chaos.report.console`` does not pay for matplotlib.
"""
