"""The plugin under pytest-xdist: long scenarios are handed out first, and the one summary table
printed by the controller holds every worker's rows."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import pytest
from chaos.checks.base import Verdict

def test_short_a(chaos_summary):
    chaos_summary.record("short a", [Verdict("recovery", True, "ok")], recovery=0.1)

@pytest.mark.chaos_long(20)
def test_long(chaos_summary):
    chaos_summary.record("long", [Verdict("recovery", True, "ok")], recovery=0.2)

def test_short_b(chaos_summary):
    chaos_summary.record("short b", [Verdict("recovery", False, "never back")], recovery=None)

@pytest.mark.chaos_long(50)
def test_longest(chaos_summary):
    chaos_summary.record("longest", [Verdict("recovery", True, "ok")], recovery=0.3)
"""


def test_long_scenarios_are_collected_first_longest_first(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    names = [line.split("::")[-1] for line in result.stdout.lines if "::" in line]
    assert names == ["test_longest", "test_long", "test_short_a", "test_short_b"]


def test_two_workers_print_one_table_with_every_row(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    out = result.stdout.str()
    assert out.count("= chaos summary =") == 1, out
    result.stdout.fnmatch_lines(["*4 scenario(s): 3 ok, 1 failed*"])
    for row in ("longest *ok*0.3 s*", "long *ok*0.2 s*", "short a *ok*0.1 s*", "short b *FAILED: recovery*never*"):
        result.stdout.fnmatch_lines([row])


def test_workers_cannot_share_an_external_cluster(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("-n", "2", "--chaos-backend", "external", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chaos-backend external with -n 2*share one cluster*-n 0 (EVCHAOS_WORKERS=0)*"])
