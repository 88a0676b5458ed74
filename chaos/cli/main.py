"""``evchaos``: install and run the infrastructure, re-check saved histories, build reports.

evchaos infra install            resolve Kafka (Maven) and build Toxiproxy (Go) into the cache
evchaos infra up [--roles R,..]  start a cluster and Toxiproxy in the background
evchaos infra status [--json]    where everything answers, and which processes run
evchaos infra down [--clean]     stop what `up` started (found by pid files)
evchaos infra gc [--dry-run]     stop what earlier test runs left running (their watchdog was killed too)
evchaos check HISTORY            re-run the invariant checks on a saved history
evchaos report [--name TITLE]    build the Allure HTML report (installs Allure 3 with npm once)
evchaos faults                   every fault kind, what it does and its parameters (from the registry)
evchaos checks                   every check (rule) a scenario can name (from the registry)
evchaos init DIR --service N=CMD a starter spec and three scenarios for your system (asks on a terminal)
evchaos mutants [-- SUITE]       the kill matrix: the suite against each deliberate bug in mutants/
evchaos images build [--offline] the Docker images of the docker backend and the compose stack
evchaos engine up|down           start (and stop) a Docker engine for them, dockerd --bridge=none
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from chaos.cli import docker as docker_cli
from chaos.cli import init as init_cli
from chaos.infra.install import InstallError
from chaos.infra.service import ServiceError
from chaos.infra.topology import HARNESS_ROLE, parse_roles


def _workdir(args: argparse.Namespace) -> Path:
    from chaos.infra.backends.local import default_workdir

    return Path(args.workdir) if args.workdir else default_workdir()


def cmd_install(args: argparse.Namespace) -> int:
    from chaos.infra.install import install

    install(force=args.force)
    if args.report:
        from chaos.report.html import install_allure

        install_allure(force=args.force)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from chaos.infra.backends.local import STATE_FILE, LocalBackend

    workdir = _workdir(args)
    if (workdir / STATE_FILE).exists() and any(s.is_running() for s in LocalBackend.load(workdir).services):
        print(f"a cluster is already running in {workdir}; `evchaos infra down` first", file=sys.stderr)
        return 1
    roles = parse_roles(args.roles)
    backend = LocalBackend.create(workdir, brokers=args.brokers, roles=roles, secured=args.security == "sasl")
    try:
        backend.up()
    except BaseException:
        backend.down()
        raise
    print(
        backend.endpoints.to_json()
        if args.json
        else f"cluster up; `evchaos infra status` shows it ({workdir})"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from chaos.infra.backends.local import LocalBackend

    backend = LocalBackend.load(_workdir(args))
    status = backend.status()
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return 0
    print(f"toxiproxy api: {status['toxiproxy_api']}")
    if backend.security is not None:
        print(f"security: SASL and ACLs; the harness is user {backend.security.harness.user!r} "
              f"(its password: `evchaos infra status --json`)")
    for role, bootstrap in sorted(backend.endpoints.roles.items()):
        print(f"  role {role:<10} bootstrap {bootstrap}")
    for name, proc in status["processes"].items():  # type: ignore[attr-defined]
        state = "paused" if proc["paused"] else "running" if proc["running"] else "stopped"
        print(f"  {name:<12} {state:<8} pid {proc['pid']}  log {proc['log']}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from chaos.infra.backends.local import LocalBackend

    backend = LocalBackend.load(_workdir(args))
    backend.clean() if args.clean else backend.down()
    print("cluster stopped" + (" and its data removed" if args.clean else ""))
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from chaos.infra import lifeline
    from chaos.infra.backends.local import STATE_FILE, LocalBackend

    found = lifeline.leftovers()
    if not found:
        print("nothing left by earlier runs")
    elif args.dry_run:
        print(f"left by earlier runs ({len(found.names())}, not stopped: --dry-run): {', '.join(found.names())}")
    else:
        stopped = lifeline.gc(found)
        print(f"stopped {len(stopped.names())} left by earlier runs: {', '.join(stopped.names())}")
    workdir = _workdir(args)
    if (workdir / STATE_FILE).exists() and any(s.is_running() for s in LocalBackend.load(workdir).services):
        print(f"left alone: the cluster `evchaos infra up` started in {workdir} (`evchaos infra down` stops it)")
    return 0


def cmd_check(args: argparse.Namespace, rest: list[str]) -> int:
    from chaos.cli.check import run_check

    return run_check(rest)


def cmd_mutants(args: argparse.Namespace, rest: list[str]) -> int:
    from chaos.cli.mutants import run_mutants

    return run_mutants(rest)


def cmd_report(args: argparse.Namespace) -> int:
    from chaos.report.html import ReportError, build_report
    from chaos.report.mutation import add_mutation_result
    from chaos.report.overview import add_overview_result

    try:
        if add_mutation_result(Path(args.results), Path(args.mutants)):
            print(f"[evchaos report] with the mutation score from {args.mutants}", file=sys.stderr)
        overview = add_overview_result(Path(args.results), Path(args.figures), Path(args.mutants))
        if overview is not None:
            print(f"[evchaos report] suite overview: {overview} (and overview.png)", file=sys.stderr)
        index = build_report(Path(args.results), Path(args.out), name=args.name)
    except ReportError as exc:
        print(f"evchaos report: {exc}", file=sys.stderr)
        return 2
    print(f"report: {index.resolve()}")
    return 0


def cmd_faults(args: argparse.Namespace) -> int:
    from chaos.faults import describe_kinds

    for kind, text in describe_kinds().items():
        print(f"{kind:<16} {text}")
    return 0


def cmd_checks(args: argparse.Namespace) -> int:
    from chaos.checks import check_names, get_check

    for name in check_names():
        module = sys.modules[type(get_check(name)).__module__]
        doc = (module.__doc__ or type(get_check(name)).__doc__ or "").strip().splitlines()
        print(f"{name:<24} {doc[0] if doc else ''}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evchaos", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    infra = sub.add_parser("infra", help="install, start, inspect and stop the local Kafka + Toxiproxy")
    infra_sub = infra.add_subparsers(dest="infra_command", required=True)
    workdir_help = "cluster folder (default: $EVCHAOS_HOME/clusters/default)"

    p = infra_sub.add_parser("install", help="resolve Kafka jars and build Toxiproxy into the cache")
    p.add_argument("--force", action="store_true", help="reinstall even if already installed")
    p.add_argument("--report", action="store_true", help="also install the Allure 3 command line (npm)")
    p.set_defaults(func=cmd_install)

    p = infra_sub.add_parser("up", help="start brokers and Toxiproxy in the background")
    p.add_argument("--brokers", type=int, choices=(1, 3), default=1)
    p.add_argument(
        "--roles", default=os.environ.get("EVCHAOS_ROLES", ""),
        help="your system's Kafka client roles, comma-separated (e.g. api,worker); each gets a listener "
        f"and proxies on every broker, and '{HARNESS_ROLE}' is always added. Env: EVCHAOS_ROLES",
    )
    p.add_argument("--workdir", help=workdir_help)
    p.add_argument("--json", action="store_true", help="print the endpoints as JSON")
    p.add_argument("--security", choices=("none", "sasl"), default=os.environ.get("EVCHAOS_SECURITY", "none"),
                   help="sasl: SASL on every listener (SCRAM-SHA-512 for roles, PLAIN for the harness) and "
                   "ACLs, nothing allowed by default; the harness's credentials are in `status --json`. "
                   "Env: EVCHAOS_SECURITY")
    p.set_defaults(func=cmd_up)

    p = infra_sub.add_parser("status", help="endpoints and processes of the running cluster")
    p.add_argument("--workdir", help=workdir_help)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = infra_sub.add_parser("down", help="stop every process `up` started")
    p.add_argument("--workdir", help=workdir_help)
    p.add_argument("--clean", action="store_true", help="also remove the brokers' data")
    p.set_defaults(func=cmd_down)

    p = infra_sub.add_parser("gc", help="stop the processes and containers earlier test runs left running")
    p.add_argument("--dry-run", action="store_true", help="only list them")
    p.add_argument("--workdir", help=workdir_help)
    p.set_defaults(func=cmd_gc)

    p = sub.add_parser("check", help="re-run the invariant checks on a saved history", add_help=False)
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("mutants", help="run the suite against each deliberate bug (patch) and print who killed it",
                       add_help=False)
    p.set_defaults(func=cmd_mutants)

    p = sub.add_parser("report", help="build the Allure HTML report from the results of a run")
    p.add_argument("--results", default="reports/allure-results", help="Allure results folder")
    p.add_argument("--out", default="reports/html", help="where the HTML report goes")
    p.add_argument("--mutants", default="reports/mutants.json",
                   help="the kill matrix of `evchaos mutants`, shown as the mutation score if it exists")
    p.add_argument("--figures", default="reports/chaos-figures.jsonl",
                   help="the run's per-scenario figures (--chaos-figures): the suite overview, if it exists")
    p.add_argument(
        "--name", default=os.environ.get("EVCHAOS_REPORT_NAME", "Resilience report"),
        help="the report's title (default: %(default)s). Env: EVCHAOS_REPORT_NAME",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("faults", help="list every fault kind with its parameters")
    p.set_defaults(func=cmd_faults)
    p = sub.add_parser("checks", help="list every check a scenario can name")
    p.set_defaults(func=cmd_checks)
    init_cli.add_parser(sub)
    docker_cli.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    try:
        if args.func in (cmd_check, cmd_mutants):
            return int(args.func(args, rest))
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return int(args.func(args))
    except (InstallError, FileNotFoundError, ValueError, ServiceError, *docker_cli.ERRORS) as exc:
        print(f"evchaos: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
