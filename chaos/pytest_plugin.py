"""The harness as a pytest plugin, loaded through the ``pytest11`` entry point on ``pip install``.

Fixtures (scopes chosen so the expensive things start once):

- ``infra`` (session): a running cluster + Toxiproxy from the chosen backend, shared by every test;
  tests are isolated by ``topic_prefix``, not by restarting Kafka. Its client roles come from the
  ``chaos_roles`` fixture, which a project overrides with its spec's roles (``SystemSpec.roles``).
- ``infra3`` (session): a 3-node cluster, started only if some test asks for it.
- ``topic_prefix`` (function): a unique prefix for the test's topics and consumer groups.
- ``chaos_scenario`` (function): a factory of ``chaos.core.scenario.Scenario`` for the system described by
  the ``chaos_spec`` fixture, which the project under test defines in its own conftest. When the
  test's call ends every scenario is stopped, judged, attached to the test's Allure result (its
  title, description, steps and evidence) and added to the console summary; broken verdicts the
  test did not assert fail it, with those verdicts as its error.
- ``chaos_seed`` (parameter): tests that take it run once per seed: ``--chaos-seeds N`` seeds
  (0..N-1, default 5), or exactly ``--chaos-seed S`` to replay one.

After every test that used a cluster, links are healed and paused or dead brokers are brought back,
so one scenario's fault never leaks into the next. Every pytest process (the controller and each
xdist worker) owns what it starts (``chaos.infra.lifeline``): however it ends, a watchdog stops
what it left, and a run that finds an earlier run's leftovers says so first.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from chaos.core.scenario import Scenario, ScenarioFailed
from chaos.core.system import TeardownFailed
from chaos.core.testmap import TestMap
from chaos.infra import lifeline
from chaos.infra.backends.base import Infra
from chaos.infra.backends.factory import BACKENDS, make_backend
from chaos.infra.topology import HARNESS_ROLE, parse_roles, with_harness
from chaos.infra.zygote import PRELOAD_VAR
from chaos.report.console import SummaryCollector
from chaos.report.figures import append as append_figures
from chaos.report.figures import scenario_figures
from chaos.report.page import RunEvidence, attach_run

pytest_plugins = ["chaos.report.pytest_hooks", "chaos.report.live_hooks"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("evchaos", "resilience harness")
    group.addoption(
        "--chaos-backend", choices=BACKENDS, default=os.environ.get("EVCHAOS_BACKEND", "local"),
        help="where Kafka and Toxiproxy run: local processes (default), docker (testcontainers), "
        "or external (addresses from --chaos-endpoints). Env: EVCHAOS_BACKEND",
    )
    group.addoption(
        "--chaos-endpoints", default=os.environ.get("EVCHAOS_ENDPOINTS"),
        help="external backend: a JSON file as printed by `evchaos infra status --json`. Env: EVCHAOS_ENDPOINTS",
    )
    group.addoption(
        "--chaos-security", choices=("none", "sasl"), default=os.environ.get("EVCHAOS_SECURITY", "none"),
        help="sasl: the local backend's clusters take SASL on every listener and ACLs; each service gets "
        "a principal of its own with its spec's grants and nothing else. Env: EVCHAOS_SECURITY",
    )
    group.addoption(
        "--chaos-roles", default=os.environ.get("EVCHAOS_ROLES"),
        help="Kafka client roles, comma-separated: each gets its own listener and proxies on every broker "
        f"(default: the chaos_roles fixture, i.e. your spec's roles; '{HARNESS_ROLE}' is always added). "
        "Env: EVCHAOS_ROLES",
    )
    group.addoption(
        "--chaos-figures", default=os.environ.get("EVCHAOS_FIGURES"),
        help="append per-scenario figures (wall time, fault time, recovery) as JSON lines to this file",
    )
    group.addoption(
        "--chaos-seed", type=int, default=None,
        help="replay exactly the schedule of this seed (printed with every failed verdict)",
    )
    group.addoption(
        "--chaos-repeat", type=int, default=int(os.environ.get("EVCHAOS_REPEAT", "1")),
        help="run every chaos scenario N times and print each one's pass rate (a flake shows below 100 %%). "
        "Env: EVCHAOS_REPEAT",
    )
    group.addoption(
        "--chaos-seeds", type=int, default=int(os.environ.get("EVCHAOS_SEEDS", "5")),
        help="how many seeded random schedules to run (seeds 0..N-1). Env: EVCHAOS_SEEDS",
    )
    group.addoption(
        "--chaos-preload", choices=("on", "off"), default=os.environ.get(PRELOAD_VAR, "on"),
        help="on: services of a spec with 'preload' are forked from a pre-imported interpreter; off: every "
        f"service starts afresh (for a system that misbehaves after a fork). Env: {PRELOAD_VAR}",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    lifeline.activate()  # before xdist starts its workers: they inherit this process's mark
    os.environ[PRELOAD_VAR] = config.getoption("--chaos-preload")  # the workers inherit it too
    workers = getattr(config.option, "numprocesses", None)  # pytest-xdist's -n, when it is installed
    if config.getoption("--chaos-backend") == "external" and workers not in (None, 0):
        raise pytest.UsageError(
            f"--chaos-backend external with -n {workers}: the workers would share one cluster, and one "
            "worker's broker faults would break the other's scenarios. Run with -n 0 (EVCHAOS_WORKERS=0), "
            "or use the local or docker backend, which start a cluster per worker."
        )
    config.addinivalue_line(
        "markers", "chaos_long(seconds): a scenario far longer than the others, about this many seconds; "
        "long ones run first, longest first, so parallel workers (pytest-xdist -n N) end together "
        "instead of one finishing a long scenario alone",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long scenarios first, longest first; the rest keep their order (the sort is stable)."""

    def expected_seconds(item: pytest.Item) -> float:
        marker = item.get_closest_marker("chaos_long")
        return 0.0 if marker is None else float(marker.args[0] if marker.args else 1.0)

    items.sort(key=expected_seconds, reverse=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):  # the controller's work, not each xdist worker's
        return
    figures = session.config.getoption("--chaos-figures")
    if figures:
        Path(figures).unlink(missing_ok=True)  # one run's figures per file
    found = lifeline.leftovers()
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    if found and terminal is not None:
        terminal.write_line(lifeline.warning(found), yellow=True, bold=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    repeat = metafunc.config.getoption("--chaos-repeat")
    if repeat > 1 and metafunc.definition.get_closest_marker("chaos") is not None:
        metafunc.fixturenames.append("chaos_repeat")
        metafunc.parametrize("chaos_repeat", range(1, repeat + 1), ids=[f"run{i}" for i in range(1, repeat + 1)])
    if "chaos_seed" in metafunc.fixturenames:
        replay = metafunc.config.getoption("--chaos-seed")
        seeds = [replay] if replay is not None else list(range(metafunc.config.getoption("--chaos-seeds")))
        metafunc.parametrize("chaos_seed", seeds, ids=[f"seed{s}" for s in seeds])


def _start(request: pytest.FixtureRequest, brokers: int, name: str) -> Iterator[Infra]:
    config = request.config
    workdir = request.getfixturevalue("tmp_path_factory").mktemp(f"evchaos-{name}")
    try:
        backend = make_backend(
            config.getoption("--chaos-backend"),
            brokers=brokers,
            workdir=workdir,
            endpoints_file=config.getoption("--chaos-endpoints"),
            roles=with_harness(request.getfixturevalue("chaos_roles")),
            secured=config.getoption("--chaos-security") == "sasl",
        )
    except RuntimeError as exc:
        if type(exc).__name__ == "DockerEngineUnavailable":  # the one environment we may skip for
            pytest.skip(str(exc))
        raise
    try:
        yield backend
    finally:
        backend.down(graceful=False)  # a test cluster's data dies with the session: no need to wait


def roles_option(config: pytest.Config) -> tuple[str, ...]:
    """The roles given with ``--chaos-roles`` / ``EVCHAOS_ROLES``; empty when none were given."""
    return parse_roles(config.getoption("--chaos-roles") or "")


@pytest.fixture(scope="session")
def chaos_roles(pytestconfig: pytest.Config) -> tuple[str, ...]:
    """The Kafka client roles of the system under test. Override it in your conftest with your spec's
    roles (``return roles_option(pytestconfig) or my_spec().roles``); by default only ``--chaos-roles``."""
    return roles_option(pytestconfig)


@pytest.fixture(scope="session")
def infra(request: pytest.FixtureRequest) -> Iterator[Infra]:
    """One broker and Toxiproxy, with one proxy per (role, broker), for the whole session."""
    yield from _start(request, brokers=1, name="single")


@pytest.fixture(scope="session")
def infra3(request: pytest.FixtureRequest) -> Iterator[Infra]:
    """A 3-node KRaft cluster (replication 3, min.insync.replicas 2), for broker-failure tests."""
    yield from _start(request, brokers=3, name="triple")


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """A prefix no other test uses: topics and groups of this test never see another test's data."""
    safe = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40].strip("-")
    return f"t-{safe}-{uuid.uuid4().hex[:6]}."


@pytest.fixture(autouse=True)
def _heal_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("infra", "infra3"):
        if name in request.fixturenames:
            restore(request.getfixturevalue(name))


def restore(infra: Infra) -> None:
    """Undo any fault a test left behind: heal links, resume paused brokers, restart dead ones."""
    infra.reset()
    try:
        brokers = infra.brokers
    except NotImplementedError:
        return
    for broker in brokers:
        broker.resume()
        if not broker.is_running():
            broker.start(wait=False)
    for broker in brokers:
        broker.wait_ready()
    infra.wait_brokers()


@pytest.fixture
def chaos_scenario(
    request: pytest.FixtureRequest, infra: Infra, topic_prefix: str, tmp_path: Path,
) -> Iterator[Callable[..., Scenario]]:
    """``chaos_scenario(test, spec=..., cluster=..., **placeholders) -> Scenario``.

    ``test`` is a ``TestMap`` (name, seed, workload, nemesis, checks), or just a name, with ``seed``
    and ``invariants`` as keywords, for a scenario whose body plays clients and faults itself. The
    spec defaults to the ``chaos_spec`` fixture and the cluster to ``infra`` (pass ``infra3`` for a
    3-node cluster). Teardown stops each scenario, judges it if the
    test did not, and publishes the evidence (Allure attachments and labels, the console row).
    """
    made: list[Scenario] = request.node.stash.setdefault(SCENARIOS, [])

    def make(
        test: TestMap | str | None = None, *, spec: Any = None, seed: int | None = None, invariants: Any = None,
        cluster: Infra | None = None, **values: str,
    ) -> Scenario:
        if not isinstance(test, TestMap):
            test = TestMap(test or request.node.name, seed=seed, invariants=invariants)
        elif seed is not None or invariants is not None:
            raise TypeError("give seed and invariants in the TestMap, not beside it: a scenario takes its seed once")
        scenario = Scenario(
            test,
            spec if spec is not None else request.getfixturevalue("chaos_spec"),
            cluster if cluster is not None else infra,
            tmp_path / f"scenario-{len(made)}",
            f"{topic_prefix}{len(made)}.",
            values=values,
        )
        made.append(scenario)
        return scenario

    yield make
    torn = finish(request.node, made)  # those the call did not finish: it never ran, or its hook broke
    if torn:
        raise TeardownFailed("\n".join(torn))


SCENARIOS = pytest.StashKey[list[Scenario]]()
"""The scenarios a test made with ``chaos_scenario``, finished when its call ends."""
FINISHED = pytest.StashKey[set[int]]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, pluggy.Result[None], None]:
    """Finish the test's scenarios as its call ends, so their evidence lands in the test's own body
    (not in a fixture's teardown), and fail the test with the broken verdicts it did not assert: a
    failed scenario's error is its verdicts, once (not also a teardown error)."""
    outcome = yield
    made = item.stash.get(SCENARIOS, [])
    if not made:
        return
    torn = finish(item, made)
    unasserted = [s for s in made if s.failed and not s.asserted]
    if not unasserted and not torn:
        return
    raised = outcome.excinfo[1] if outcome.excinfo else None
    parts = [broken_verdicts(s) for s in unasserted]
    if torn:  # after the verdicts: a failed tear-down step must not hide what the run found
        parts.append("the system's tear-down failed:\n" + "\n".join(torn))
    if raised is not None:
        parts.append(f"before that, the test itself stopped with {type(raised).__name__}: {raised}")
    failure = (ScenarioFailed if unasserted else TeardownFailed)("\n\n".join(parts))
    failure.__cause__ = raised
    outcome.force_exception(failure)


def broken_verdicts(scenario: Scenario) -> str:
    """``name: broken rules: a, b`` and each broken verdict: what a failed test's header says."""
    from chaos.report.story import broken_rules

    lines = [f"  - [{v.invariant}{f' {v.resource}' if v.resource else ''}] {v.message}" for v in scenario.failed]
    return f"{scenario.name}: broken rules: {', '.join(broken_rules(scenario.verdicts))}\n" + "\n".join(lines)


def finish(item: pytest.Item, made: list[Scenario]) -> list[str]:
    """Stop, judge and publish each scenario not finished yet (each once, whatever the others do);
    what each failed tear-down said, for the caller to report after the verdicts."""
    from chaos.report.pytest_hooks import summary_of  # late: pytest loads it as a plugin (assert rewriting)

    done, torn = item.stash.setdefault(FINISHED, set()), []
    for scenario in made:
        if id(scenario) in done:
            continue
        done.add(id(scenario))
        try:
            scenario.stop()
        except TeardownFailed as exc:
            torn.append(f"{scenario.name}: {exc}")
        finally:  # one scenario's failure to stop must not leave the next one's processes running
            publish(item, scenario, summary_of(item.config))
    return torn


def publish(item: pytest.Item, scenario: Scenario, summary: SummaryCollector) -> None:
    """Judge (if the test did not), close the history, attach the evidence, record the figures and row."""
    if not scenario.verdicts:
        scenario.judge()
    scenario.history.close()
    module = getattr(item, "module", None)
    attach_run(RunEvidence(
        suite=module.__name__.rsplit(".", 1)[-1] if module else "chaos",
        history=scenario.history, verdicts=scenario.verdicts, schedule=scenario.schedule,
        logs=scenario.logs, recovery=scenario.recovery,
        components=[s.name for s in scenario.spec.services], workdir=scenario.workdir,
        doc=getattr(getattr(item, "obj", None), "__doc__", None) or "",
    ))
    figures_file = item.config.getoption("--chaos-figures")
    if figures_file:
        append_figures(figures_file, scenario_figures(scenario, time.monotonic() - scenario.created))
    rec = scenario.recovery
    summary.record(
        scenario.name, scenario.verdicts, recovery=rec.request_recovery if rec else None,
        healed=rec is not None and rec.heal_t is not None, seed=scenario.seed,
    )
