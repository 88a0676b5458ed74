"""What each ``evcharge`` sub-command does once its flags are parsed: build, run, stop on a signal."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from evcharge import logs
from evcharge.config import ConfigError, kafka_settings
from evcharge.provision import run_provision
from evcharge.registry.cli import run_registry
from evcharge.supervise import on_signal

if TYPE_CHECKING:
    from evcharge.audit import AuditLog
    from evcharge.central.auth import CentralAuth
    from evcharge.driver.api import Access


def run_central(args: argparse.Namespace) -> int:
    from evcharge.central.handlers import CentralConfig
    from evcharge.central.service import Central, LoopConfig
    from evcharge.central.store import Store

    logs.setup("central", args.log_level)
    if args.max_batch < 1:
        raise ConfigError("--max-batch must be at least 1")
    registered = frozenset(cp.strip() for cp in args.cps.split(",") if cp.strip())
    config = CentralConfig(args.price, args.reservation_ttl, args.heartbeat_timeout,
                           telemetry_timeout=args.telemetry_timeout, stop_grace=args.stop_grace,
                           registered_cps=registered or None)
    central = Central(Store(args.db), kafka_settings(args), config, LoopConfig(max_records=args.max_batch),
                      auth=central_auth(args))
    on_signal(central.stopping)
    central.run()
    return 0


def central_auth(args: argparse.Namespace) -> CentralAuth | None:
    """Central's message authentication from ``--registry-db`` (None: an open network)."""
    from evcharge.auth.options import audit_log
    from evcharge.central.auth import CentralAuth
    from evcharge.registry.store import RegistryView

    audit = audit_log(args, "central")
    if not args.registry_db:
        return None
    try:
        return CentralAuth(RegistryView(Path(args.registry_db)), audit)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"--registry-db {args.registry_db!r}: {exc}") from None


def run_cp(args: argparse.Namespace) -> int:
    from evcharge.auth.options import component_auth
    from evcharge.cp.engine import Engine, EngineConfig

    logs.setup("engine", args.log_level)
    logs.bind_process(cp_id=args.id)
    config = EngineConfig(
        args.id,
        args.health_host,
        args.health_port,
        args.power_kw,
        args.telemetry_period,
        args.charge_duration,
        state=args.state or None,
    )
    try:
        engine = Engine(config, kafka_settings(args), auth=component_auth(args, f"engine-{args.id}", args.id))
    except sqlite3.Error as exc:
        raise ConfigError(f"cannot open --state {args.state!r}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.health_host}:{args.health_port}: {exc}") from None
    on_signal(engine.stopping)
    engine.run()
    return 0


def run_cp_control(args: argparse.Namespace) -> int:
    from evcharge.cp.health import ask

    try:
        print(ask(args.host, args.port, args.action.upper(), timeout=2.0))
    except OSError as exc:
        print(f"evcharge cp-control: engine at {args.host}:{args.port} unreachable: {exc}", file=sys.stderr)
        return 1
    return 0


def run_monitor(args: argparse.Namespace) -> int:
    from evcharge.auth.options import component_auth
    from evcharge.cp.monitor import Monitor, MonitorConfig

    logs.setup("monitor", args.log_level)
    logs.bind_process(cp_id=args.cp)
    monitor = Monitor(MonitorConfig(args.cp, args.engine_host, args.engine_port, args.period), kafka_settings(args),
                      auth=component_auth(args, f"monitor-{args.cp}", args.cp))
    on_signal(monitor.stopping)
    monitor.run()
    return 0


def api_access(args: argparse.Namespace, audit: AuditLog | None) -> Access:
    """The driver API's token and TLS files from the flags; ConfigError for what is wrong."""
    from evcharge.driver.api import Access
    from evcharge.webapi.guard import load_token

    if bool(args.api_tls_cert) != bool(args.api_tls_key):
        raise ConfigError("--api-tls-cert and --api-tls-key go together: give both, or neither")
    for flag in ("api_tls_cert", "api_tls_key"):
        path = getattr(args, flag)
        if path and not Path(path).is_file():
            raise ConfigError(f"--{flag.replace('_', '-')} {path!r}: no such file")
    token_file = Path(args.api_token_file.replace("{id}", args.id)).expanduser()
    try:
        token, source = load_token(args.api_token, token_file)
    except PermissionError as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read or write {exc.filename}: {exc.strerror}") from None
    return Access(token, source, args.api_tls_cert, args.api_tls_key, audit, args.api_allow_plain == "yes")


def run_driver(args: argparse.Namespace) -> int:
    from evcharge.auth.options import component_auth
    from evcharge.driver.api import check_exposure, serve_in_background
    from evcharge.driver.core import Driver, DriverConfig
    from evcharge.driver.seed import SeedDriver
    from evcharge.driver.services import read_services, run_services

    logs.setup("driver", args.log_level)
    logs.bind_process(driver_id=args.id)
    kafka = kafka_settings(args)
    try:
        duration = float(args.duration) if args.duration else None
    except ValueError:
        raise ConfigError(f"--duration {args.duration!r} is not a number") from None
    services = None
    if args.services:
        try:
            services = read_services(Path(args.services))
        except (OSError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
    cls = SeedDriver if args.variant == "seed" else Driver
    config = DriverConfig(
        args.id,
        args.request_deadline,
        start_deadline=args.start_deadline,
        charging_silence=args.charging_silence,
        retention=args.request_retention,
    )
    auth = component_auth(args, f"driver-{args.id}", args.id)
    access = api_access(args, auth.audit)
    try:
        check_exposure(args.api_host, access)  # before any Kafka client exists
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    driver = cls(config, kafka, auth=auth).start()
    try:
        server = serve_in_background(driver, args.api_host, args.api_port, access)
    except ValueError as exc:
        driver.close()
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        driver.close()
        raise ConfigError(f"cannot listen on {args.api_host}:{args.api_port}: {exc}") from None
    on_signal(driver.stopping)
    if services is not None:
        outcome = run_services(driver, services, args.service_pause, driver.stopping, duration)
        print(outcome, file=sys.stderr)
    else:
        driver.stopping.wait()
    server.close()
    driver.close()
    return 0


def run_command(args: argparse.Namespace) -> int:
    from evcharge.auth.options import component_auth
    from evcharge.kafka import ResilientProducer
    from evcharge.messages import CpCommand, Topics, make

    kafka = kafka_settings(args)
    logs.setup("command", args.log_level)
    auth = component_auth(args, f"operator-{args.operator}", args.operator)
    producer = ResilientProducer(kafka, "evcharge-command", seal=auth.sealer)
    message = make(CpCommand(action=args.action, cp_id=None if args.all else args.cp_id), f"operator:{args.operator}")
    item = producer.send(kafka.topic(Topics.COMMANDS), message, key=args.operator)
    ok = producer.wait_delivered([item], timeout=args.timeout)
    producer.close(drain_timeout=0)
    if not ok:
        print(f"evcharge command: Kafka did not accept the command within {args.timeout:.0f} s", file=sys.stderr)
        return 1
    print(f"sent {args.action} for {'every CP' if args.all else args.cp_id} (message {message.message_id})")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from evcharge.audit import verify

    try:
        key = Path(args.key_file).read_bytes().strip() if args.key_file else None
        verdict = verify(Path(args.path), args.head, key)
    except OSError as exc:
        print(f"evcharge audit: cannot read {args.path}: {exc.strerror}", file=sys.stderr)
        return 2
    if not verdict.ok:
        print(f"{args.path}: BROKEN after {verdict.records} good records: {verdict.problem}")
        return 1
    print(f"{args.path}: {verdict.records} records, chain intact; last hash {verdict.head}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from evcharge.status import read_table, render

    try:
        print(render(read_table(Path(args.db)), args.json))
    except (FileNotFoundError, OSError) as exc:
        print(f"evcharge status: {exc}", file=sys.stderr)
        return 1
    return 0


RUNNERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "central": run_central,
    "cp": run_cp,
    "cp-control": run_cp_control,
    "monitor": run_monitor,
    "driver": run_driver,
    "command": run_command,
    "status": run_status,
    "audit": run_audit,
    "registry": run_registry,
    "provision": run_provision,
}
