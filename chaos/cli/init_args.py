"""The values of ``evchaos init``'s flags, each checked as it is read, then the whole description.

A value is checked by the same function whether it came as a flag or as an answer on a terminal,
so both say the same thing about the same mistake. Every check that the harness already makes
(a service's name, a readiness form, a placeholder, a role, a topic in a broker target, a spec's
consistency) is asked of the harness's own code, not repeated here.
"""

from __future__ import annotations

import argparse
import re
import shlex
import string
from collections.abc import Iterable, Sequence
from typing import TypeVar

from chaos.cli.starter import Starter, StarterService
from chaos.core.readiness import Readiness
from chaos.core.spec import ServiceSpec
from chaos.core.templates import PLACEHOLDERS, SpecError, format_placeholders
from chaos.faults.params import FaultSpecError
from chaos.faults.targets import BrokerGroup
from chaos.infra.topology import HARNESS_ROLE, validate_roles

T = TypeVar("T")
NO_ROLE = "none"
"""``--role NAME=none``: the service does not talk to Kafka."""
_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SHORTHANDS = {"bootstrap_env": "bootstrap", "topic_prefix_env": "topic_prefix", "db_env": "db"}
"""``--bootstrap-env VAR`` is ``--env VAR={bootstrap}``, and so on."""


class InitError(argparse.ArgumentTypeError):
    """Bad input, said with what to write instead. An ``ArgumentTypeError``, so argparse shows a bad
    flag's message as it is (a plain ``ValueError`` would become "invalid value")."""


# -- one flag's value -------------------------------------------------------------------------------
def split_pair(text: str, flag: str, form: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise InitError(f"{flag} {text!r}: write {form}")
    return name.strip(), value.strip()


def placeholders_in(texts: Iterable[str]) -> set[str]:
    """The ``{names}`` in some (already checked) templates."""
    return {name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name}


def check_templates(texts: Sequence[str], where: str) -> None:
    """Every ``{placeholder}`` is one the harness fills (the error names the known ones)."""
    for text in texts:
        format_placeholders(text, dict.fromkeys(PLACEHOLDERS, ""), where)


def service_arg(text: str) -> StarterService:
    name, command = split_pair(text, "--service", "NAME=COMMAND, e.g. --service 'worker=orders-worker --db {db}'")
    try:
        argv = tuple(shlex.split(command))
        ServiceSpec(name, list(argv))  # the spec's own rules for a service's name and command
        check_templates(argv, name)
    except SpecError as exc:  # argparse names the flag; the message names the service
        raise InitError(str(exc)) from None
    except ValueError as exc:  # shlex: an unclosed quote, a trailing backslash
        raise InitError(f"{name}: its command {command!r} cannot be split into words ({exc}); "
                        "close its quotes, and quote the whole NAME=COMMAND as one shell word") from None
    return StarterService(name, argv, role=None)


def role_arg(text: str) -> tuple[str, str | None]:
    name, role = split_pair(text, "--role", f"NAME=ROLE (ROLE: a Kafka client role, or {NO_ROLE})")
    return name, None if role == NO_ROLE else valid_role(role, name)


def valid_role(role: str, where: str) -> str:
    if role == HARNESS_ROLE:
        raise InitError(f"{where}: '{HARNESS_ROLE}' is the harness's own role; name your service's role differently")
    try:
        return validate_roles([role])[0]
    except ValueError as exc:
        raise InitError(f"{where}: {exc}") from None


def ready_arg(text: str) -> tuple[str, str]:
    name, ready = split_pair(text, "--ready", "NAME=READINESS, e.g. --ready 'worker=log line worker started'")
    try:
        Readiness.parse(ready, name)
        check_templates([ready], name)
    except SpecError as exc:
        raise InitError(str(exc)) from None
    return name, ready


def env_arg(text: str) -> tuple[str, str]:
    var, value = split_pair(text, "--env", "VAR=VALUE, e.g. --env KAFKA_BOOTSTRAP={bootstrap}")
    try:
        check_templates([value], var)
    except SpecError as exc:
        raise InitError(str(exc)) from None
    return var_arg(var), value


def var_arg(text: str) -> str:
    if not _VAR.fullmatch(text):
        raise InitError(f"{text!r} is not an environment variable name: use letters, digits and '_', "
                        "not starting with a digit")
    return text


def topic_arg(text: str) -> str:
    try:
        BrokerGroup.parse(f"broker:leader:{text}")  # the target the leader scenario names
    except FaultSpecError:
        raise InitError(f"{text!r}: a topic name is letters, digits, '.', '_' and '-' "
                        "(without the run's prefix: the harness adds it)") from None
    return text


def query_arg(text: str) -> str:
    if text.split(None, 1)[0].upper() not in ("SELECT", "WITH"):
        raise InitError(f"{text!r}: give a SELECT of (resource, state) rows, "
                        "e.g. --db-query 'SELECT id, state FROM orders'")
    return text


def seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise InitError(f"{text!r}: give seconds, a number above 0 (e.g. 5)")
    return value


def default_role(service: str) -> str:
    """The service's name as a role: lower case, '_' for anything else (``toy-keeper`` -> ``toy_keeper``)."""
    return re.sub(r"[^a-z0-9_]", "_", service.lower())


# -- the whole description ----------------------------------------------------------------------------
MISSING = {
    "name": "--name SYSTEM (the system's name)",
    "service": "--service NAME=COMMAND (one per service)",
    "topic": "--topic TOPIC (a topic the system writes: its partition leader is killed)",
}


def missing(args: argparse.Namespace) -> list[str]:
    return [flag for key, flag in MISSING.items() if not getattr(args, key)]


def once(pairs: Sequence[tuple[str, T]], flag: str, known: Sequence[str] | None = None) -> dict[str, T]:
    """NAME=VALUE flags as a dict: each name once, and (given ``known``) a known one."""
    found: dict[str, T] = {}
    for name, value in pairs:
        if name in found:
            raise InitError(f"{flag} {name} is given twice; keep one")
        if known is not None and name not in known:
            raise InitError(f"{flag} {name}: no service {name!r}; services: {', '.join(known)}")
        found[name] = value
    return found


def environment(args: argparse.Namespace) -> dict[str, str]:
    """``--env`` and the shorthands (``--bootstrap-env VAR`` ...), each variable once."""
    pairs = list(args.env)
    for key, placeholder in SHORTHANDS.items():
        if getattr(args, key) is not None:
            pairs.append((getattr(args, key), "{" + placeholder + "}"))
    return once(pairs, "--env (or --bootstrap-env, --topic-prefix-env, --db-env)")


def with_roles(args: argparse.Namespace) -> tuple[StarterService, ...]:
    """The services with their roles (``--role``, else the name as a role) and readiness."""
    names = list(once([(s.name, s) for s in args.service], "--service"))
    roles, readies = once(args.role, "--role", names), once(args.ready, "--ready", names)
    for name in names:
        if name not in roles:
            roles[name] = valid_role(default_role(name), f"--service {name} (its name as a role, "
                                     f"{default_role(name)!r}; give one with --role {name}=ROLE)")
    return tuple(StarterService(s.name, s.argv, roles[s.name], readies.get(s.name)) for s in args.service)


def check_bootstrap(services: Sequence[StarterService], env: dict[str, str]) -> None:
    """A Kafka service must be given ``{bootstrap}``, or it bypasses its proxies and no fault reaches it."""
    for service in services:
        if service.role is not None and "bootstrap" not in placeholders_in([*service.argv, *env.values()]):
            raise InitError(
                f"service {service.name} uses Kafka role {service.role!r}, but neither its command nor --env "
                "passes it {bootstrap}: it would bypass its role's proxies, and no fault would reach it. Put "
                f"{{bootstrap}} in its command, add --bootstrap-env VAR, or say --role {service.name}={NO_ROLE}"
            )


def describe(args: argparse.Namespace) -> Starter:
    """The validated description, or ``InitError`` with the first thing to fix."""
    services, env = with_roles(args), environment(args)
    check_bootstrap(services, env)
    talking = [s.name for s in services if s.role is not None]
    if not talking:
        raise InitError(f"no service talks to Kafka (every --role is {NO_ROLE}); the scenarios break Kafka's links")
    early, cut = (args.early or talking[0]), (args.cut or talking[-1])
    for flag, name in (("--early", early), ("--cut", cut)):
        if name not in talking:
            raise InitError(f"{flag} {name}: choose a service that talks to Kafka: {', '.join(talking)}")
    if args.limit and not args.db_query:
        raise InitError("--limit needs --db-query: the limits are judged on the states the probe reads")
    starter = Starter(
        args.name, services, args.topic, early, cut, env=env, query=args.db_query,
        limits=once(args.limit, "--limit"), head_start=args.head_start, brokers=args.brokers,
        prefixed="topic_prefix" in placeholders_in([*(w for s in services for w in s.argv), *env.values()]),
    )
    try:
        starter.spec()
    except SpecError as exc:
        raise InitError(str(exc)) from None
    return starter


def notes(starter: Starter) -> list[str]:
    """What is allowed but likely a mistake, said beside the files written."""
    said = []
    takes = placeholders_in([*(word for s in starter.services for word in s.argv), *starter.env.values()])
    if not starter.prefixed:
        said.append("no service takes {topic_prefix} (in its command, or --topic-prefix-env VAR): every scenario "
                    "uses the same topics, and one scenario's records are read by the next")
    if starter.query and "db" not in takes:
        said.append("the probe reads {db}, but no service is given {db} (in its command, or --db-env VAR): "
                    "it will read no states")
    return said
