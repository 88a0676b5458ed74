"""What the security flags (``auth.flags``) build: a component's key and audit log (``ConfigError`` for a bad one)."""

from __future__ import annotations

import argparse
from pathlib import Path

from evcharge.audit import AuditLog, load_key
from evcharge.auth.component import NO_AUTH, ComponentAuth
from evcharge.auth.keys import KeyError_, KeyFile
from evcharge.config import ConfigError


def audit_log(args: argparse.Namespace, component: str, ident: str = "") -> AuditLog | None:
    """The audit log the flags ask for; ``{component}`` and ``{id}`` in the key file's path are filled in."""
    if not getattr(args, "audit_log", ""):  # a component that consumes nothing keeps no audit log
        return None
    key_file = Path(args.audit_key_file.replace("{component}", component).replace("{id}", ident)).expanduser()
    try:
        return AuditLog(Path(args.audit_log), component, load_key(key_file))
    except PermissionError as exc:
        raise ConfigError(str(exc)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read or write {exc.filename}: {exc.strerror}") from None
    except ValueError as exc:  # an audit log whose last line is not a record
        raise ConfigError(str(exc)) from None


def component_auth(args: argparse.Namespace, component: str, ident: str = "") -> ComponentAuth:
    audit = audit_log(args, component, ident)
    if not args.key_file:
        return NO_AUTH if audit is None else ComponentAuth(None, audit)
    try:
        return ComponentAuth(KeyFile(Path(args.key_file).expanduser()), audit)
    except KeyError_ as exc:
        raise ConfigError(str(exc)) from None
