"""The security flags every component takes (cheap to import: ``--help`` loads no model)."""

from __future__ import annotations

import argparse

from evcharge.config import add_env_option


def add_audit_options(parser: argparse.ArgumentParser, what: str) -> None:
    add_env_option(parser, "--audit-log", "EVCHARGE_AUDIT_LOG", "",
                   f"append-only audit log of {what} (empty: none; check it with `evcharge audit verify`)")
    add_env_option(parser, "--audit-key-file", "EVCHARGE_AUDIT_KEY_FILE", "~/.config/evcharge/{component}.audit-key",
                   "the audit log's HMAC key, made (mode 0600) if the file does not exist; keep it apart from the log")


def add_key_option(parser: argparse.ArgumentParser) -> None:
    add_env_option(parser, "--key-file", "EVCHARGE_KEY_FILE", "",
                   "this principal's message key (written by `evcharge registry enroll`); every message sent is "
                   "sealed with it and only what Central sealed is believed (empty: messages unauthenticated)")
