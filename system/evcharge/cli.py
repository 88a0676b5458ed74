"""``evcharge``: one command line for every process of the network. Parsers here, runners in
``evcharge.runners``. Every flag has an environment fallback, shown in ``--help``."""

from __future__ import annotations

import argparse
import sys

from evcharge.auth.flags import add_audit_options, add_key_option
from evcharge.config import (
    ConfigError,
    add_driver_deadline_options,
    add_env_option,
    add_kafka_options,
    non_negative_float,
    positive_float,
    tcp_port,
)
from evcharge.provision import add_provision_parser
from evcharge.registry.cli import add_registry_parser

EPILOG = "Flags win over environment variables, which win over defaults."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evcharge", description="An EV charging network over Apache Kafka.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, kafka: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EPILOG)
        if kafka:
            add_kafka_options(p)
        return p

    central = command("central", "Run Central: authorizes charges, keeps the database, sends tickets.")
    add_env_option(central, "--db", "EVCHARGE_DB", "evcharge.db", "SQLite database path")
    add_env_option(central, "--price", "EVCHARGE_PRICE", "0.35", "price in EUR per kWh", type=non_negative_float)
    add_env_option(
        central,
        "--reservation-ttl",
        "EVCHARGE_RESERVATION_TTL",
        "10",
        "seconds a reservation waits for charging_started",
        type=positive_float,
    )
    add_env_option(
        central,
        "--heartbeat-timeout",
        "EVCHARGE_HEARTBEAT_TIMEOUT",
        "5",
        "seconds without a monitor heartbeat before a CP is disconnected",
        type=positive_float,
    )
    add_env_option(
        central,
        "--telemetry-timeout",
        "EVCHARGE_TELEMETRY_TIMEOUT",
        "30",
        "seconds without telemetry before Central stops a session"
        " (keep it well above the CPs' --telemetry-period)",
        type=positive_float,
    )
    add_env_option(
        central,
        "--stop-grace",
        "EVCHARGE_STOP_GRACE",
        "5",
        "seconds a session Central stopped waits for the engine's final reading before it is billed"
        " with the last telemetry (a stop normally answers in milliseconds; a partitioned engine never)",
        type=positive_float,
    )
    add_env_option(
        central,
        "--cps",
        "EVCHARGE_CPS",
        "",
        "the CP ids allowed to register, comma-separated (empty: any CP whose monitor beats)",
    )
    add_env_option(central, "--max-batch", "EVCHARGE_MAX_BATCH", "2000", "records per transaction", type=int)
    add_env_option(central, "--registry-db", "EVCHARGE_REGISTRY_DB", "",
                   "the registry's database (read-only): every message must be sealed by a principal active "
                   "there (empty: messages unauthenticated, an open network)")
    add_audit_options(central, "refused messages (forgeries, unsigned, unregistered senders)")

    cp = command("cp", "Run a charging point engine.")
    add_env_option(cp, "--id", "EVCHARGE_CP_ID", "CP_001", "charging point id")
    add_env_option(cp, "--health-host", "EVCHARGE_HEALTH_HOST", "127.0.0.1", "health/control listen address")
    add_env_option(cp, "--health-port", "EVCHARGE_HEALTH_PORT", "7001", "health/control TCP port", type=tcp_port)
    add_env_option(cp, "--power-kw", "EVCHARGE_POWER_KW", "22", "power supplied, kW", type=positive_float)
    add_env_option(
        cp,
        "--telemetry-period",
        "EVCHARGE_TELEMETRY_PERIOD",
        "1",
        "seconds between telemetry",
        type=positive_float,
    )
    add_env_option(
        cp,
        "--charge-duration",
        "EVCHARGE_CHARGE_DURATION",
        "10",
        "seconds a charge lasts when the driver does not say",
        type=positive_float,
    )
    add_env_option(
        cp,
        "--state",
        "EVCHARGE_CP_STATE",
        "",
        "SQLite file remembering the sessions supplied, so a restart never supplies one twice"
        " (empty: in memory only)",
        metavar="PATH",
    )
    add_key_option(cp)
    add_audit_options(cp, "refused messages")

    control = command("cp-control", "Send a command to an engine's control port: ko, ok, status, ping.", kafka=False)
    control.add_argument("action", choices=["ko", "ok", "status", "ping"])
    add_env_option(control, "--host", "EVCHARGE_HEALTH_HOST", "127.0.0.1", "engine address")
    add_env_option(control, "--port", "EVCHARGE_HEALTH_PORT", "7001", "engine control port", type=tcp_port)

    monitor = command("monitor", "Run a charging point monitor (health checks + heartbeats).")
    add_env_option(monitor, "--cp", "EVCHARGE_CP_ID", "CP_001", "charging point id")
    add_env_option(monitor, "--engine-host", "EVCHARGE_HEALTH_HOST", "127.0.0.1", "engine address")
    add_env_option(monitor, "--engine-port", "EVCHARGE_HEALTH_PORT", "7001", "engine health port", type=tcp_port)
    add_env_option(monitor, "--period", "EVCHARGE_HEARTBEAT_PERIOD", "1", "seconds between checks", type=positive_float)
    add_key_option(monitor)

    driver = command("driver", "Run a driver with its local HTTP API, optionally a services file.")
    add_env_option(driver, "--id", "EVCHARGE_DRIVER_ID", "D1", "driver id")
    add_env_option(driver, "--api-host", "EVCHARGE_DRIVER_API_HOST", "127.0.0.1", "API listen address")
    add_env_option(driver, "--api-port", "EVCHARGE_DRIVER_API_PORT", "8100", "API port (0: any free)", type=tcp_port)
    add_env_option(driver, "--api-token", "EVCHARGE_DRIVER_API_TOKEN", "",
                   "the API's bearer token (prefer the environment variable: a flag shows in ps; empty: the file)")
    add_env_option(driver, "--api-token-file", "EVCHARGE_DRIVER_API_TOKEN_FILE", "~/.config/evcharge/driver-{id}.token",
                   "where the token is read from, or written to (mode 0600) if the file does not exist")
    add_env_option(driver, "--api-tls-cert", "EVCHARGE_DRIVER_API_TLS_CERT", "",
                   "PEM certificate (chain) to serve the API over HTTPS; needed to listen beyond loopback")
    add_env_option(driver, "--api-tls-key", "EVCHARGE_DRIVER_API_TLS_KEY", "", "PEM private key of --api-tls-cert")
    add_env_option(driver, "--api-allow-plain", "EVCHARGE_DRIVER_API_ALLOW_PLAIN", "no",
                   "'yes': serve without TLS beyond loopback, only where that address is private (inside a "
                   "container whose port is published on the host's loopback); the token is still required",
                   choices=["yes", "no"])
    add_audit_options(driver, "refused API requests and refused messages")
    add_key_option(driver)
    driver.add_argument("--services", default=None, help="file with one CP id per line; exit when done")
    add_env_option(
        driver,
        "--service-pause",
        "EVCHARGE_SERVICE_PAUSE",
        "4",
        "seconds between services",
        type=non_negative_float,
    )
    add_env_option(driver, "--duration", "EVCHARGE_DURATION", "", "charge duration to ask for, s (empty: CP default)")
    add_env_option(
        driver,
        "--request-deadline",
        "EVCHARGE_REQUEST_DEADLINE",
        "90",
        "seconds a request may wait for Central's answer",
        type=positive_float,
    )
    add_driver_deadline_options(driver)
    add_env_option(
        driver,
        "--variant",
        "EVCHARGE_DRIVER_VARIANT",
        "fixed",
        "'fixed', or 'seed' = the ORIGINAL BUGGY producer handling, for the harness only",
        choices=["fixed", "seed"],
    )

    ctl = command("command", "Tell Central to stop or resume one CP or all of them.")
    ctl.add_argument("action", choices=["stop", "resume"])
    target = ctl.add_mutually_exclusive_group(required=True)
    target.add_argument("cp_id", nargs="?", help="charging point id")
    target.add_argument("--all", action="store_true", help="every charging point")
    add_env_option(ctl, "--timeout", "EVCHARGE_COMMAND_TIMEOUT", "30", "seconds to wait for Kafka", type=positive_float)
    add_env_option(ctl, "--operator", "EVCHARGE_OPERATOR", "operator", "the operator's id (its registry principal)")
    add_key_option(ctl)

    add_registry_parser(sub, EPILOG)
    add_provision_parser(sub, EPILOG)

    audit = command("audit", "Check an audit log's hash chain: every record there, in order, unedited.",
                    kafka=False)
    audit.add_argument("action", choices=["verify"])
    audit.add_argument("path", help="the audit log (JSON lines)")
    audit.add_argument("--head", default=None,
                       help="the last record's hash as kept elsewhere: also catches records cut off the end")
    audit.add_argument("--key-file", default=None, help="the log's HMAC key (the writer's --audit-key-file)")

    status = command("status", "Print the CP table from Central's database.", kafka=False)
    add_env_option(status, "--db", "EVCHARGE_DB", "evcharge.db", "SQLite database path")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from evcharge import runners  # late: --help must not pay for importing kafka

    try:
        return runners.RUNNERS[args.command](args)
    except ConfigError as exc:
        print(f"evcharge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
