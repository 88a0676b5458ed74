"""``evchaos init DIR``: a starter spec and three scenarios for a system described in one line.

    evchaos init chaos_tests --name orders --topic orders \\
        --service api="orders-api --port 8080" --service worker="orders-worker --db {db}" \\
        --bootstrap-env KAFKA_BOOTSTRAP --topic-prefix-env TOPIC_PREFIX \\
        --ready api="http GET http://127.0.0.1:8080/health" --ready worker="log line worker started" \\
        --db-query "SELECT id, state FROM orders" --limit pending=30

writes DIR/conftest.py (the spec, with the fixtures chaos_spec and chaos_roles) and DIR/test_chaos.py
(a service started before Kafka, a role's links cut, the partition leader killed). On a terminal
it asks for what the flags leave out; elsewhere a missing --name, --service or --topic is an
error naming it. Existing files are kept unless --force. Exit status: 0 written, 2 bad input
(nothing written; the message says what was wrong and what to write instead).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from chaos.cli.check import parse_limit
from chaos.cli.init_args import (
    NO_ROLE,
    SHORTHANDS,
    InitError,
    default_role,
    describe,
    env_arg,
    missing,
    notes,
    placeholders_in,
    query_arg,
    ready_arg,
    role_arg,
    seconds_arg,
    service_arg,
    topic_arg,
    var_arg,
)
from chaos.cli.starter import FILES, HEAD_START, render
from chaos.core.readiness import Readiness
from chaos.core.templates import PLACEHOLDERS

T = TypeVar("T")
Ask = Callable[[str], str]
"""Asks one question on the terminal and returns the answer (``input``)."""
EXIT_OK, EXIT_BAD_INPUT = 0, 2


# -- questions on a terminal --------------------------------------------------------------------------
def question(ask: Ask, text: str, parse: Callable[[str], T], enter: str | None = None) -> T | None:
    """Ask until the answer parses (the same checks as the flag's). With ``enter`` (what an empty
    answer means) the question is optional, and Enter returns None."""
    optional = enter is not None
    while True:
        try:
            answer = ask(f"{text}{f' (Enter: {enter})' if optional else ''}: ").strip()
        except EOFError:
            raise InitError("no answer (end of input); nothing written") from None
        if not answer:
            if optional:
                return None
            print("  an answer is needed here", file=sys.stderr)
            continue
        try:
            return parse(answer)
        except argparse.ArgumentTypeError as exc:  # InitError, and parse_limit's own
            print(f"  {exc}", file=sys.stderr)


def for_service(parse: Callable[[str], T], name: str, text: str) -> T:
    """An answer about one service, read as its flag would be (``NAME=`` + the answer)."""
    return parse(f"{name}={text}")


def ask_services(args: argparse.Namespace, ask: Ask) -> None:
    """Each service: its command, then its role and readiness; Enter ends the list (after one)."""
    text = "a service, NAME=COMMAND (e.g. worker=orders-worker --bootstrap {bootstrap} --db {db})"
    while True:
        service = question(ask, text, service_arg, "that is all" if args.service else None)
        if service is None:
            return
        args.service.append(service)
        role = question(ask, f"  {service.name}'s Kafka client role ({NO_ROLE}: it uses no Kafka)",
                        partial(for_service, role_arg, service.name), default_role(service.name))
        args.role.extend([role] if role else [])
        ready = question(ask, f"  when is {service.name} ready ({' | '.join(Readiness.FORMS)})",
                         partial(for_service, ready_arg, service.name), "at once")
        args.ready.extend([ready] if ready else [])
        text = "another service, NAME=COMMAND"


def given(args: argparse.Namespace, placeholder: str) -> bool:
    """Whether some service's command or the environment already passes ``{placeholder}``."""
    return placeholder in placeholders_in([*(word for s in args.service for word in s.argv),
                                           *(value for _, value in args.env)])


def interview(args: argparse.Namespace, ask: Ask) -> None:
    """Fill in, on ``args``, what the flags left out: the required values, and the optional ones
    that shape the starter files (only asked in an interview: flags alone never start one)."""
    print(f"evchaos init: a few questions for what the flags leave out ({'; '.join(missing(args))})",
          file=sys.stderr)
    if not args.name:
        args.name = question(ask, "the system's name", str)
    if not args.service:
        ask_services(args, ask)
    envs = {"bootstrap_env": "the services read Kafka's address (bootstrap servers) from",
            "topic_prefix_env": "the services read the run's topic prefix from"}
    for key, what in envs.items():
        if getattr(args, key) is None and not given(args, SHORTHANDS[key]):
            setattr(args, key, question(ask, f"the environment variable {what}", var_arg, "none"))
    if args.db_query is None:
        args.db_query = question(ask, "the SQL reading (resource, state) rows from the system's SQLite file, {db}",
                                 query_arg, "no state probe")
    if args.db_query and args.db_env is None and not given(args, "db"):
        args.db_env = question(ask, "the environment variable the services read the SQLite file's path from",
                               var_arg, "none")
    if args.db_query and not args.limit:
        text = "a transient state and how long a resource may stay in it, STATE=SECONDS (e.g. pending=30)"
        while (limit := question(ask, text, parse_limit, "no more" if args.limit else "none")) is not None:
            args.limit.append(limit)
    if not args.topic:
        args.topic = question(ask, "a topic the system writes (its partition leader is killed)", topic_arg)


def quote(word: str) -> str:
    """A shell word, quoted only if a shell would split or expand it (``{db}`` stays as it is), in
    double quotes if it holds single ones and nothing a shell expands in double quotes."""
    if re.fullmatch(r"[\w@%+=:,./{}-]+", word):
        return word
    if "'" in word and not re.search(r'[$`"\\!]', word):
        return f'"{word}"'
    return shlex.quote(word)


def command_line(args: argparse.Namespace) -> str:
    """The flags that say what ``args`` says (after an interview: the answers), wrapped for a
    terminal or a comment; shorthands are written as the ``--env`` they stand for."""
    words = [["evchaos", "init", args.dir], *([["--name", args.name]] if args.name else [])]
    roles, readies = dict(args.role), dict(args.ready)
    for s in args.service:
        words.append(["--service", f"{s.name}={' '.join(quote(word) for word in s.argv)}"])
        if s.name in roles:
            words.append(["--role", f"{s.name}={roles[s.name] or NO_ROLE}"])
        if s.name in readies:
            words.append(["--ready", f"{s.name}={readies[s.name]}"])
    shorthands = [(getattr(args, key), "{" + placeholder + "}") for key, placeholder in SHORTHANDS.items()]
    words += [["--env", f"{var}={value}"] for var, value in [*args.env, *shorthands] if var]
    words += [["--db-query", args.db_query]] if args.db_query else []
    words += [["--limit", f"{state}={limit:g}"] for state, limit in args.limit]
    words += [[flag, value] for flag, value in (("--topic", args.topic), ("--early", args.early),
                                                 ("--cut", args.cut)) if value]
    words += [["--head-start", f"{args.head_start:g}"]] if args.head_start != HEAD_START else []
    words += [["--brokers", "3"]] if args.brokers == 3 else []
    return " \\\n    ".join(" ".join(quote(word) for word in group) for group in words)


# -- the command -----------------------------------------------------------------------------------------
def write(directory: Path, files: dict[str, str], force: bool) -> list[Path]:
    """Write every file, or (without ``force``) none if any exists."""
    paths = [directory / name for name in files]
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise InitError(f"{' and '.join(existing)} exist{'s' if len(existing) == 1 else ''} already: nothing "
                        "written. Add --force to overwrite, or choose another DIR")
    if directory.exists() and not directory.is_dir():
        raise InitError(f"{directory} is a file, not a folder: choose another DIR")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in zip(paths, files.values(), strict=True):
        path.write_text(text)
    return paths


def failed(args: argparse.Namespace, asked: bool, message: str) -> int:
    print(message, file=sys.stderr)
    if asked:  # the answers are not lost: fix the one thing and run it again
        print(f"your answers as flags:\n  {command_line(args)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run_init(args: argparse.Namespace, ask: Ask | None = None) -> int:
    """The command's body: ``ask`` is given on a terminal (questions for what is missing), else None."""
    asked = bool(missing(args)) and ask is not None
    try:
        if ask is not None and asked:
            interview(args, ask)
        if missing(args):
            raise InitError(f"missing {'; '.join(missing(args))}. stdin is not a terminal, so evchaos init does "
                            "not ask: give them as flags (evchaos init --help)")
        starter = describe(args)
        command = command_line(args)
        paths = write(Path(args.dir), render(starter, command), args.force)
    except KeyboardInterrupt:
        return failed(args, asked, "\nevchaos init: interrupted; nothing written")
    except InitError as exc:
        return failed(args, asked, f"evchaos init: {exc}")
    for path in paths:
        print(f"wrote {path}")
    for note in notes(starter):
        print(f"note: {note}")
    if asked:
        print(f"the same without questions:\n  {command}")
    print(f"then fill in the TODO in {paths[1]} (your clients), and run them:\n"
          f"  pytest {shlex.quote(args.dir)} -m chaos")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    return run_init(args, input if sys.stdin.isatty() else None)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="write a starter spec and three scenarios for your system",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help=f"the folder to write {' and '.join(FILES)} into (made if missing)")
    p.add_argument("--name", help="the system's name (in reports and histories)")
    p.add_argument("--service", action="append", type=service_arg, default=[], metavar="NAME=COMMAND",
                   help="a service and its command line, shell-quoted, with placeholders such as {bootstrap}, "
                   f"{{topic_prefix}}, {{db}} ({', '.join(PLACEHOLDERS)}); repeat for each service")
    p.add_argument("--role", action="append", type=role_arg, default=[], metavar="NAME=ROLE",
                   help=f"the Kafka client role of a service (default: its name; {NO_ROLE}: it does not use Kafka)")
    p.add_argument("--ready", action="append", type=ready_arg, default=[], metavar="NAME=READINESS",
                   help=f"when a service counts as started: {', '.join(Readiness.FORMS)} (default: at once)")
    p.add_argument("--env", action="append", type=env_arg, default=[], metavar="VAR=VALUE",
                   help="an environment variable for every service (placeholders allowed)")
    for key, placeholder in SHORTHANDS.items():
        p.add_argument("--" + key.replace("_", "-"), type=var_arg, metavar="VAR",
                       help=f"the services read {{{placeholder}}} from VAR (the same as --env VAR={{{placeholder}}})")
    p.add_argument("--db-query", type=query_arg, metavar="SQL",
                   help="the state probe: a SELECT of (resource, state) rows on the system's SQLite file, {db}")
    p.add_argument("--limit", action="append", type=parse_limit, default=[], metavar="STATE=SECONDS",
                   help="a transient state and how long a resource may stay in it (repeatable; needs --db-query)")
    p.add_argument("--topic", type=topic_arg,
                   help="a topic the system writes, without the run's prefix: its partition leader is killed")
    p.add_argument("--early", metavar="NAME", help="the service started before Kafka (default: the first)")
    p.add_argument("--cut", metavar="NAME", help="the service whose role's links are cut (default: the last)")
    p.add_argument("--head-start", type=seconds_arg, default=HEAD_START, metavar="SECONDS",
                   help="how long the early service runs before Kafka is there for it (default: %(default)g)")
    p.add_argument("--brokers", type=int, choices=(1, 3), default=1,
                   help="the leader scenario's cluster: 1 broker (the session's) or 3 (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.set_defaults(func=cmd_init)
