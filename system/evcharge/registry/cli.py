"""``evcharge registry``: serve the registry, administer it offline, or call it over HTTPS.

The parser is cheap to build (``--help`` imports nothing heavy); each action's imports are its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

from evcharge.auth.flags import add_audit_options
from evcharge.config import ConfigError, add_env_option, tcp_port

TOKEN_FILE = "~/.config/evcharge/registry.token"


def add_registry_parser(sub: Any, epilog: str) -> None:
    text = "The registry of CPs, drivers and operators: their keys, rotated and revoked (REST over HTTPS)."
    registry = sub.add_parser("registry", help=text, description=text, epilog=epilog)
    actions = registry.add_subparsers(dest="action", required=True, metavar="ACTION")

    init = actions.add_parser("init", help="create the database offline and enroll principals, writing their keys")
    init.add_argument("--db", required=True, help="the registry's SQLite database (created if missing)")
    init.add_argument("--enroll", default="", help="principals to enroll: KIND:ID,... (cp:CP_001,driver:D1)")
    init.add_argument("--keys-dir", default=".", help="where each enrolled key is written, as KIND-ID.key (mode 0600)")

    serve = actions.add_parser("serve", help="serve the REST API over HTTPS")
    add_env_option(serve, "--db", "EVCHARGE_REGISTRY_DB", "registry.db", "the registry's SQLite database")
    add_env_option(serve, "--host", "EVCHARGE_REGISTRY_HOST", "127.0.0.1", "listen address")
    add_env_option(serve, "--port", "EVCHARGE_REGISTRY_PORT", "8443", "listen port (0: any free)", type=tcp_port)
    add_env_option(serve, "--tls-cert", "EVCHARGE_REGISTRY_TLS_CERT", "",
                   "PEM certificate (empty: a self-signed one next to the database, made once; clients pin it)")
    add_env_option(serve, "--tls-key", "EVCHARGE_REGISTRY_TLS_KEY", "", "PEM private key of --tls-cert")
    add_env_option(serve, "--token-file", "EVCHARGE_REGISTRY_TOKEN_FILE", TOKEN_FILE,
                   "the operators' bearer token, made (mode 0600) if the file does not exist")
    add_audit_options(serve, "enrolments, rotations, revocations and refused calls")
    add_env_option(serve, "--log-level", "EVCHARGE_LOG_LEVEL", "INFO", "log level")

    for name, help_text in (("enroll", "enroll a principal and write its key"),
                            ("rotate", "give a principal a new key (the old one stays valid a minute)"),
                            ("revoke", "revoke a principal: none of its keys is valid from now"),
                            ("list", "list the principals (never their keys)")):
        call = actions.add_parser(name, help=help_text, description=help_text)
        if name != "list":
            call.add_argument("kind", choices=["cp", "driver", "operator", "central"])
            call.add_argument("id", help="the principal's id (CP_001, D1...)")
        add_env_option(call, "--url", "EVCHARGE_REGISTRY_URL", "https://127.0.0.1:8443", "the registry")
        add_env_option(call, "--ca", "EVCHARGE_REGISTRY_CA", "", "the registry's certificate (empty: system CAs)")
        add_env_option(call, "--token-file", "EVCHARGE_REGISTRY_TOKEN_FILE", TOKEN_FILE, "the operators' token")
        if name in ("enroll", "rotate"):
            call.add_argument("--key-out", required=True, help="where to write the key (mode 0600)")


def parse_principals(text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, ident = item.partition(":")
        if not sep:
            raise ConfigError(f"--enroll {item!r}: write each principal as KIND:ID, e.g. cp:CP_001")
        pairs.append((kind, ident))
    return pairs


def run_registry(args: argparse.Namespace) -> int:
    from evcharge.registry.store import RegistryError

    try:
        return {"init": _init, "serve": _serve}.get(args.action, _call)(args)
    except RegistryError as exc:
        raise ConfigError(str(exc)) from None


def _init(args: argparse.Namespace) -> int:
    enrolled = init_registry(Path(args.db), args.enroll, Path(args.keys_dir))
    print(f"registry {args.db}: {enrolled} principals enrolled, keys in {args.keys_dir}")
    return 0


def init_registry(db: Path, enroll: str, keys_dir: Path) -> int:
    """Enroll Central and every principal of ``enroll`` not enrolled yet, writing each key file;
    returns how many are enrolled. Running it again changes nothing."""
    from evcharge.auth.keys import write_key
    from evcharge.registry.store import RegistryStore

    store = RegistryStore(db)
    try:
        wanted = [("central", "central"), *parse_principals(enroll)]
        enrolled = {(e.kind, e.id) for e in store.entries() if e.status == "active"}
        for kind, ident in wanted:
            if (kind, ident) in enrolled:
                continue
            key = store.enroll(kind, ident)
            if kind != "central":  # Central reads its key from the database
                write_key(keys_dir / f"{kind}-{ident}.key", key)
    finally:
        store.close()
    return len(wanted)


def _serve(args: argparse.Namespace) -> int:
    from evcharge import logs
    from evcharge.auth.options import audit_log
    from evcharge.registry.server import serve_in_background
    from evcharge.registry.store import RegistryStore
    from evcharge.supervise import on_signal
    from evcharge.webapi.guard import load_token
    from evcharge.webapi.server import Access
    from evcharge.webapi.tls import ensure_self_signed

    logs.setup("registry", args.log_level)
    cert, key = args.tls_cert, args.tls_key
    if bool(cert) != bool(key):
        raise ConfigError("--tls-cert and --tls-key go together: give both, or neither")
    if not cert:
        folder = Path(args.db).resolve().parent
        cert, key = str(folder / "registry-cert.pem"), str(folder / "registry-key.pem")
        try:
            ensure_self_signed(Path(cert), Path(key), args.host)
        except (OSError, RuntimeError) as exc:
            raise ConfigError(str(exc)) from None
    try:
        token, source = load_token("", Path(args.token_file).expanduser())
    except PermissionError as exc:
        raise ConfigError(str(exc)) from None
    store = RegistryStore(Path(args.db))
    access = Access(token, source, cert, key, audit_log(args, "registry"))
    try:
        served = serve_in_background(store, args.host, args.port, access)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot serve the registry on {args.host}:{args.port}: {exc}") from None
    print(f"registry listening on https://{args.host}:{served.port} (certificate {cert})", flush=True)
    stopping = threading.Event()
    on_signal(stopping)
    stopping.wait()
    served.close()
    store.close()
    return 0


def _call(args: argparse.Namespace) -> int:
    from evcharge.auth.keys import write_key
    from evcharge.registry.client import RegistryCallError, call

    try:
        token = Path(args.token_file).expanduser().read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the registry token {args.token_file}: {exc.strerror}") from None
    ca = Path(args.ca) if args.ca else None
    routes = {
        "list": ("GET", "/v1/principals", None),
        "enroll": ("POST", "/v1/principals", {"kind": getattr(args, "kind", ""), "id": getattr(args, "id", "")}),
        "rotate": ("POST", f"/v1/principals/{getattr(args, 'kind', '')}/{getattr(args, 'id', '')}/rotate", {}),
        "revoke": ("DELETE", f"/v1/principals/{getattr(args, 'kind', '')}/{getattr(args, 'id', '')}", None),
    }
    method, path, body = routes[args.action]
    try:
        answer = call(args.url, method, path, token, ca, body)
    except RegistryCallError as exc:
        print(f"evcharge registry {args.action}: {exc}", file=sys.stderr)
        return 1
    if args.action in ("enroll", "rotate"):
        write_key(Path(args.key_out), bytes.fromhex(answer.pop("key")))
        answer["key_file"] = args.key_out
    print(json.dumps(answer, indent=2))
    return 0
