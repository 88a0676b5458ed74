"""``evchaos init``: flags (or answers) -> a starter spec and three scenarios that load, lint and run.

The unit tests check what the files say and that the spec they build is valid; the integration
test writes the starter for the toy system (tests/chaos/toy) and runs its scenarios against the
real local Kafka and Toxiproxy in a pytest of their own.
"""

from __future__ import annotations

import importlib.util
import io
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from chaos.cli.init import run_init
from chaos.cli.main import build_parser, main
from chaos.core.spec import SystemSpec

ROOT = Path(__file__).resolve().parents[3]
ORDERS = [
    "--name", "orders", "--topic", "orders",
    "--service", "api=orders-api --port 8080", "--service", "worker=orders-worker --db {db} --name 'a b'",
    "--bootstrap-env", "KAFKA_BOOTSTRAP", "--topic-prefix-env", "TOPIC_PREFIX",
    "--ready", "api=http GET http://127.0.0.1:8080/health", "--ready", "worker=log line worker started",
    "--db-query", "SELECT id, state FROM orders", "--limit", "pending=30",
]
"""The README's two-service example, one line of flags."""


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin is not a terminal unless a test says otherwise: evchaos init must not ask."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def init(target: Path, *flags: str) -> int:
    return main(["init", str(target), *flags])


def load(path: Path) -> ModuleType:
    """A generated file as a module of its own (its name unique, so two conftests never meet)."""
    spec = importlib.util.spec_from_file_location(f"generated_{abs(hash(path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated_spec(target: Path) -> SystemSpec:
    spec = load(target / "conftest.py").system_spec()
    assert isinstance(spec, SystemSpec)
    return spec


def test_flags_write_a_spec_and_three_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init(tmp_path / "chaos", *ORDERS) == 0
    out = capsys.readouterr().out
    for name in ("conftest.py", "test_chaos.py"):
        assert f"wrote {tmp_path / 'chaos' / name}" in out, out
    assert f"pytest {tmp_path / 'chaos'} -m chaos" in out, out
    spec = generated_spec(tmp_path / "chaos")
    api, worker = spec.services
    assert (spec.name, spec.roles) == ("orders", ("api", "worker"))
    assert list(worker.argv) == ["orders-worker", "--db", "{db}", "--name", "a b"]
    assert dict(api.env) == {"KAFKA_BOOTSTRAP": "{bootstrap}", "TOPIC_PREFIX": "{topic_prefix}"}
    assert (api.ready, worker.ready) == ("http GET http://127.0.0.1:8080/health", "log line worker started")
    assert spec.probe is not None and spec.probe.query == "SELECT id, state FROM orders"
    assert dict(spec.invariants.transient_limits) == {"pending": 30.0}
    assert list(spec.checks or []) == ["services-alive", "transient-state-limit"]
    scenarios = (tmp_path / "chaos" / "test_chaos.py").read_text()
    compile(scenarios, "test_chaos.py", "exec")
    for line in ('EARLY = "api"', 'CUT = "worker"', 'TOPIC = "orders"', "SETTLE = 32.0", "run.topic_prefix + TOPIC",
                 'through(run, "before-proxies", EARLY', 'through(run, "link-down", CUT)',
                 'through(run, "kill", f"broker:leader:{topic}")', "run.assert_invariants()",
                 "# --- TODO: your clients", "run.op("):
        assert line in scenarios, line


def test_roles_clusters_and_placement_follow_the_flags(tmp_path: Path) -> None:
    assert init(tmp_path, "--name", "toy", "--topic", "leases", "--brokers", "3", "--head-start", "2",
                "--service", "toy-keeper=keep --bootstrap {bootstrap} --topic {topic_prefix}leases",
                "--service", "toy-holder=hold --bootstrap {bootstrap}", "--service", "setup-db=migrate {db}",
                "--role", "toy-holder=holder", "--role", "setup-db=none",
                "--early", "toy-holder", "--cut", "toy-keeper") == 0
    spec = generated_spec(tmp_path)
    assert [s.role for s in spec.services] == ["toy_keeper", "holder", None]
    assert spec.probe is None and list(spec.checks or []) == ["services-alive"]
    scenarios = (tmp_path / "test_chaos.py").read_text()
    assert 'EARLY = "toy-holder"' in scenarios and 'CUT = "toy_keeper"  # the role of toy-keeper' in scenarios
    assert "HEAD_START = 2.0" in scenarios and "infra3: Infra" in scenarios and "cluster=infra3" in scenarios


def test_a_system_without_a_prefix_kills_its_topic_as_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init(tmp_path, "--name", "fixed", "--topic", "jobs", "--service", "w=work {bootstrap}") == 0
    assert "topic = TOPIC\n" in (tmp_path / "test_chaos.py").read_text()
    assert "note: no service takes {topic_prefix}" in capsys.readouterr().out


ODD = ["run", 'say "hi"', "back\\slash", "naïve", "{bootstrap}", "{{literal}}", '"""', "$HOME"]
ODD_FLAGS = ["--name", 'the "odd" one \\ ü', "--topic", "t", "--service", f"w={shlex.join(ODD)}",
             "--ready", 'w=log line said "ready" \\', "--env", 'NOTE="""', "--db-query", 'SELECT "id", state FROM t']
"""Quotes, backslashes, triple quotes, braces, a dollar and non-ASCII, in every value that reaches the code."""
LONG_PATH = "/opt/" + "very-long-folder-name/" * 6 + "worker"  # one word: a line ruff lets pass
LONG_URL = "http GET http://127.0.0.1:8080/" + "very/long/health/check/" * 5  # ends in a URL: ruff lets it pass
MOTD = "'" + "a message of the day in many words " * 4 + "'"  # words, not a URL: a line E501 flags
LONG_FLAGS = [*ORDERS, "--service", f"long={LONG_PATH} --bootstrap {{bootstrap}} --motd {MOTD}",
              "--ready", f"long={LONG_URL}"]


def test_user_text_never_breaks_the_generated_code(tmp_path: Path) -> None:
    assert init(tmp_path, *ODD_FLAGS) == 0
    spec = generated_spec(tmp_path)
    assert spec.name == 'the "odd" one \\ ü' and list(spec.services[0].argv) == ODD
    assert spec.services[0].ready == 'log line said "ready" \\' and dict(spec.services[0].env) == {"NOTE": '"""'}
    compile((tmp_path / "test_chaos.py").read_text(), "test_chaos.py", "exec")


@pytest.mark.parametrize("flags", [ORDERS, LONG_FLAGS, ODD_FLAGS], ids=["readme", "long-lines", "odd-text"])
def test_the_generated_files_pass_the_projects_ruff(tmp_path: Path, flags: list[str]) -> None:
    in_lint_env = ROOT / ".tox" / "lint" / "bin" / "ruff"
    ruff = shutil.which("ruff") or (str(in_lint_env) if in_lint_env.exists() else None)
    if ruff is None:
        pytest.skip("ruff is not installed here (it is in the lint env: tox -e lint)")
    assert init(tmp_path, *flags) == 0
    done = subprocess.run([ruff, "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(tmp_path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    if flags is not ODD_FLAGS:  # E501 is off only in a file that needs it
        assert ("\n# ruff: noqa: E501\n" in (tmp_path / "conftest.py").read_text()) == (flags is LONG_FLAGS)


def test_pytest_collects_the_three_scenarios_with_the_plugin(tmp_path: Path) -> None:
    assert init(tmp_path / "gen", *ORDERS) == 0
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", "chaos",
         "--rootdir", str(tmp_path / "gen"), "--confcutdir", str(tmp_path / "gen"), str(tmp_path / "gen")],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    names = [line.split("::")[-1] for line in done.stdout.splitlines() if "::" in line]
    assert names == ["test_started_before_kafka", "test_link_cut", "test_leader_killed"], done.stdout


def test_the_command_in_the_files_writes_them_again(tmp_path: Path) -> None:
    assert init(tmp_path / "a", *ORDERS, "--cut", "api", "--role", "api=front") == 0
    first = {p.name: p.read_text() for p in (tmp_path / "a").iterdir()}
    comment = first["conftest.py"].split("# Written by `evchaos init`; to write it again:\n", 1)[1]
    lines = comment.split("\nfrom __future__")[0].splitlines()
    argv = shlex.split(" ".join(line.removeprefix("#").rstrip("\\").strip() for line in lines))
    assert argv[:3] == ["evchaos", "init", str(tmp_path / "a")]
    assert main([argv[1], str(tmp_path / "b"), *argv[3:]]) == 0
    again = {p.name: p.read_text() for p in (tmp_path / "b").iterdir()}
    assert {n: t.replace(str(tmp_path / "b"), str(tmp_path / "a")) for n, t in again.items()} == first


@pytest.mark.parametrize(("flags", "says"), [
    (["--service", "api=orders-api 'unclosed"], ["--service", "cannot be split", "No closing quotation"]),
    (["--service", "api"], ["--service", "write NAME=COMMAND"]),
    (["--service", "a b=x {bootstrap}"], ["--service", "service name 'a b'"]),
    (["--service", "api=x {bootsrap}"], ["unknown placeholder {bootsrap}", "known placeholders: bootstrap"]),
    (["--service", "api=x {bootstrap}", "--limit", "pending=soon", "--db-query", "SELECT a, b FROM t"],
     ["--limit", "'pending=soon': write STATE=SECONDS"]),
    (["--service", "api=x {bootstrap}", "--limit", "pending=-1", "--db-query", "SELECT a, b FROM t"],
     ["cannot be negative"]),
    (["--service", "api=x {bootstrap}", "--limit", "pending=3"], ["--limit needs --db-query"]),
    (["--service", "api=x {bootstrap}", "--ready", "worker=log line up"], ["--ready worker: no service 'worker'",
                                                                            "services: api"]),
    (["--service", "api=x {bootstrap}", "--ready", "api=when it feels like it"], ["cannot read readiness",
                                                                                  "log line <text>"]),
    (["--service", "api=x {bootstrap}", "--role", "web=front"], ["--role web: no service 'web'"]),
    (["--service", "api=x {bootstrap}", "--role", "api=Front"], ["bad client role 'Front'"]),
    (["--service", "api=x {bootstrap}", "--role", "api=harness"], ["the harness's own role"]),
    (["--service", "api=x"], ["service api uses Kafka role 'api'", "{bootstrap}", "--bootstrap-env VAR"]),
    (["--service", "api=x {bootstrap}", "--service", "api=y {bootstrap}"], ["--service api is given twice"]),
    (["--service", "api=x {bootstrap}", "--cut", "db"], ["--cut db: choose a service that talks to Kafka: api"]),
    (["--service", "api=x", "--role", "api=none"], ["no service talks to Kafka"]),
    (["--service", "api=x {bootstrap}", "--env", "2FAST=1"], ["'2FAST' is not an environment variable name"]),
    (["--service", "api=x {bootstrap}", "--env", "K=1", "--bootstrap-env", "K"], ["K is given twice"]),
    (["--service", "api=x {bootstrap}", "--db-query", "DELETE FROM t"], ["give a SELECT of (resource, state) rows"]),
    (["--service", "api=x {bootstrap}", "--head-start", "soon"], ["--head-start", "give seconds"]),
    (["--service", "api=x {bootstrap}", "--brokers", "2"], ["--brokers", "invalid choice"]),
])
def test_bad_flags_say_what_was_wrong_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], says: list[str],
) -> None:
    try:
        code = init(tmp_path / "out", "--name", "orders", "--topic", "orders", *flags)
    except SystemExit as exc:  # argparse's own report of a flag it could not read
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    for text in says:
        assert text in err, err
    assert not (tmp_path / "out").exists()


def test_a_bad_topic_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        init(tmp_path, "--name", "x", "--service", "a=x {bootstrap}", "--topic", "a:b")
    assert "a topic name is letters, digits" in capsys.readouterr().err


def test_missing_flags_without_a_terminal_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init(tmp_path / "out", "--service", "a=x {bootstrap}") == 2
    err = capsys.readouterr().err
    assert "missing --name SYSTEM" in err and "--topic TOPIC" in err and "--service" not in err.split("missing")[1]
    assert "stdin is not a terminal" in err
    assert not (tmp_path / "out").exists()


def test_existing_files_are_kept_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init(tmp_path, *ORDERS) == 0
    (tmp_path / "conftest.py").write_text("# mine\n")
    capsys.readouterr()
    assert init(tmp_path, *ORDERS) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'conftest.py'} and {tmp_path / 'test_chaos.py'} exist already" in err and "--force" in err
    assert (tmp_path / "conftest.py").read_text() == "# mine\n"
    assert init(tmp_path, *ORDERS, "--force") == 0
    assert "SystemSpec(" in (tmp_path / "conftest.py").read_text()


def test_one_existing_file_is_enough_to_write_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "test_chaos.py").write_text("# mine\n")
    assert init(tmp_path, *ORDERS) == 2
    assert f"{tmp_path / 'test_chaos.py'} exists already" in capsys.readouterr().err
    assert not (tmp_path / "conftest.py").exists()


def interview(target: Path, lines: list[str], *flags: str) -> tuple[int, list[str]]:
    """``evchaos init`` as on a terminal: each question gets the next answer; returns the questions."""
    asked: list[str] = []
    replies = iter(lines)

    def ask(question: str) -> str:
        asked.append(question)
        return next(replies)

    args, _ = build_parser().parse_known_args(["init", str(target), *flags])
    return run_init(args, ask), asked


def test_a_terminal_is_asked_for_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, asked = interview(tmp_path / "a", [
        "orders",                                      # the system's name
        "api=orders-api --port 8080", "", "http GET http://127.0.0.1:8080/health",   # service, role, ready
        "worker=orders-worker --db {db}", "work", "",  # service, its role, no readiness
        "",                                            # no more services
        "KAFKA_BOOTSTRAP", "TOPIC_PREFIX",             # the environment variables
        "SELECT id, state FROM orders", "pending=oops", "pending=30", "",   # probe, a bad limit, a good one
        "orders",                                      # the topic
    ])
    assert code == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "pending=oops" in captured.err and "write STATE=SECONDS" in captured.err  # said, then asked again
    assert sum("transient state" in q for q in asked) == 3
    spec = generated_spec(tmp_path / "a")
    assert spec.roles == ("api", "work") and dict(spec.invariants.transient_limits) == {"pending": 30.0}
    command = captured.out.split("the same without questions:\n", 1)[1].split("\nthen fill in")[0]
    argv = shlex.split(command.replace("\\\n", " "))
    assert main([argv[1], str(tmp_path / "b"), *argv[3:]]) == 0  # the flags it printed write the same files
    written = [(tmp_path / folder / "conftest.py").read_text() for folder in ("a", "b")]
    assert written[1].replace(str(tmp_path / "b"), str(tmp_path / "a")) == written[0]


def test_only_what_the_flags_leave_out_is_asked(tmp_path: Path) -> None:
    code, asked = interview(tmp_path, ["leases"], "--name", "toy", "--db-query", "SELECT id, state FROM r",
                            "--service", "k=keep {bootstrap} {topic_prefix} {db}", "--limit", "held=3")
    assert code == 0 and len(asked) == 1 and "topic" in asked[0]


def test_an_interview_that_ends_early_keeps_its_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def ask(question: str) -> str:
        if "name" in question:
            return "orders"
        raise EOFError

    args, _ = build_parser().parse_known_args(["init", str(tmp_path / "out")])
    assert run_init(args, ask) == 2
    err = capsys.readouterr().err
    assert "no answer (end of input); nothing written" in err and "--name orders" in err
    assert not (tmp_path / "out").exists()


def histories(folder: Path) -> dict[str, list[dict[str, object]]]:
    """Scenario name -> its recorded events, from every history a run left under ``folder``."""
    found = {}
    for path in folder.rglob("history.jsonl"):
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        found[str(events[0]["scenario"])] = events
    return found


@pytest.mark.integration
def test_the_starter_for_the_toy_runs_and_passes_against_real_kafka(tmp_path: Path) -> None:
    """The toy system (keeper and holder, from tests/chaos/toy/toy_system.py) through `evchaos init`
    and its three scenarios against a real broker and Toxiproxy, in a pytest of their own.

    The toy has no clients, so the workload placeholder stays as written (it only waits) and the
    scenarios judge the keeper's states through the probe. Two choices fit the toy: its Kafka clients
    give up bootstrapping after 5 s (``tests/kafka_clients.FAST``), so the head start is 2 s; and the
    holder starts early, because the keeper keeps the lease timer that ends a lost hold (a keeper
    restarted without Kafka expires nothing until it is back, longer than the 3 s limit).
    """
    from tests.chaos.toy.toy_system import RULES, toy_spec

    keeper, holder = toy_spec(lease=1.0).services
    flags = ["--name", "toy-leases", "--topic", "leases", "--head-start", "2", "--early", holder.name,
             "--cut", keeper.name, "--db-query", "SELECT id, state FROM resources"]
    for service, role in ((keeper, "keeper"), (holder, "holder")):
        flags += ["--service", f"{service.name}={shlex.join(service.argv)}", "--role", f"{service.name}={role}"]
        flags += ["--ready", f"{service.name}={service.ready}"]
    flags += [item for var, value in keeper.env.items() for item in ("--env", f"{var}={value}")]
    flags += [item for state, limit in RULES.transient_limits.items() for item in ("--limit", f"{state}={limit:g}")]
    made = subprocess.run([sys.executable, "-m", "chaos.cli.main", "init", str(tmp_path / "toy"), *flags],
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert made.returncode == 0, made.stderr
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "chaos", "--rootdir",
         str(tmp_path / "toy"), "--confcutdir", str(tmp_path / "toy"), "--basetemp", str(tmp_path / "run"),
         str(tmp_path / "toy")],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=540,
    )
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]
    assert "3 passed" in ran.stdout, ran.stdout[-3000:]
    runs = histories(tmp_path / "run")
    assert len(runs) == 3, sorted(runs)
    for name, events in runs.items():  # not a vacuous pass: the probe saw the holder's leases come and go
        states = {state for e in events if e["type"] == "state" for state in e["states"].values()}  # type: ignore[union-attr]
        assert {"reserved", "free"} <= states, (name, states)
        assert any(e["type"] == "fault_start" for e in events), name
