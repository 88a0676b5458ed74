"""The console summary: a plain fixed-width table a person reads in a CI log."""

from __future__ import annotations

import pytest

from chaos.checks.base import Verdict
from chaos.report.console import SummaryCollector, SummaryRow, format_seconds, format_table

pytest_plugins = ["pytester"]

OK = Verdict("transient-state-limit", True, "no resource stayed too long", seed=7)
STUCK = Verdict("transient-state-limit", False, "CP_001 reserved for 47.2 s", resource="CP_001", seed=42)


def test_a_failed_row_names_the_broken_invariants_and_resources() -> None:
    row = SummaryRow.from_verdicts("driver starts before kafka", [OK, STUCK], recovery=None)
    assert not row.ok
    assert row.verdict == "FAILED: transient-state-limit CP_001"
    assert (row.recovery, row.seed) == ("never", 7)


def test_recovery_figures_read_as_seconds_never_or_dash() -> None:
    assert format_seconds(3.24) == "3.2 s"
    assert format_seconds(None, healed=True) == "never"
    assert format_seconds(None, healed=False) == "-"


def test_table_is_aligned_plain_text_with_a_count_line() -> None:
    collector = SummaryCollector()
    collector.record("broker leader killed", [OK], recovery=2.5, seed=3)
    collector.record("a scenario with a very long name " * 3, [STUCK], recovery=None)
    lines = format_table(collector.rows).splitlines()
    assert lines[0].split() == ["scenario", "verdict", "recovery", "seed"]
    assert lines[2].split()[-3:] == ["2.5", "s", "3"]
    assert "..." in lines[3] and lines[3].endswith("42")
    assert lines[-1] == "2 scenario(s): 1 ok, 1 failed"
    verdict_column = lines[0].index("verdict")
    assert lines[2][verdict_column:].startswith("ok")
    assert lines[3][verdict_column:].startswith("FAILED")
    assert all(line.isascii() for line in lines)


def test_the_hook_prints_the_table_at_the_end_of_the_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from chaos.checks.base import Verdict

        def test_scenario(chaos_summary):
            chaos_summary.record("link cut", [Verdict("recovery", True, "back in 1 s")], recovery=1.0, seed=5)
        """
    )
    result = pytester.runpytest("-p", "chaos.report.pytest_hooks", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*= chaos summary =*", "scenario*verdict*recovery*seed", "link cut*ok*1.0 s*5"])


def test_no_rows_no_table(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest("-p", "chaos.report.pytest_hooks", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "chaos summary" not in result.stdout.str()


def test_repeat_mode_runs_each_chaos_scenario_n_times_and_prints_its_pass_rate(pytester: pytest.Pytester) -> None:
    """``--chaos-repeat N``: a scenario that fails one run in three shows 2/3 with the rule it broke."""
    pytester.makepyfile(
        """
        import pytest
        from chaos.checks.base import Verdict

        @pytest.mark.chaos
        def test_flaky(chaos_summary, chaos_repeat):
            ok = chaos_repeat != 2
            chaos_summary.record("flaky one", [Verdict("transient-state-limit", ok, "x", resource="CP_1")])

        @pytest.mark.chaos
        def test_steady(chaos_summary):
            chaos_summary.record("steady one", [Verdict("recovery", True, "back")])

        def test_not_a_scenario():
            pass
        """
    )
    result = pytester.runpytest("--chaos-repeat", "3", "-p", "no:cacheprovider", "--strict-markers",
                                "-o", "markers=chaos: a scenario")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines([
        "*= chaos pass rates (--chaos-repeat) =*",
        "2/3   66.7 %  flaky one*transient-state-limit CP_1",
        "3/3  100.0 %  steady one*",
        "2 scenario(s) repeated; 1 did not pass every run",
    ])
