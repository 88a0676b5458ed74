"""What ``evchaos init`` writes: a starter spec (``conftest.py``) and three scenarios (``test_chaos.py``).

The description (``Starter``) is validated data, and the files are rendered from it with
``string.Template``: generated Python is full of braces (``{bootstrap}`` in commands, f-strings), so
``$name`` substitution keeps the templates readable. Every value a user typed reaches the code as a
JSON string literal (valid Python, double-quoted, escaped), never pasted raw, so no command or query
can break the generated code. ``Starter.spec()`` builds the same ``SystemSpec`` the generated
conftest builds, so the command can prove the spec valid before it writes anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from string import Template

from chaos.checks import InvariantSpec
from chaos.cli.starter_templates import CONFTEST, SCENARIOS
from chaos.core.probes import ProbeSpec
from chaos.core.spec import ServiceSpec, SystemSpec

LINE = 120
"""The line length the generated files keep to (the project's ruff setting)."""
FILES = ("conftest.py", "test_chaos.py")
HEAD_START = 5.0
"""Seconds the early service runs before Kafka is there for it, unless ``--head-start`` says."""
MADE_WITH = "# Written by `evchaos init`; to write it again:\n"
ENV_DOC = "The environment every service gets, besides the harness's own."


@dataclass(frozen=True)
class StarterService:
    """One service as the user described it: its command (already split), Kafka role, readiness."""

    name: str
    argv: tuple[str, ...]
    role: str | None
    ready: str | None = None


@dataclass(frozen=True)
class Starter:
    """A system described for ``evchaos init``, every part already checked by the command."""

    name: str
    services: tuple[StarterService, ...]
    topic: str
    early: str
    cut: str
    env: Mapping[str, str] = field(default_factory=dict)
    query: str | None = None
    limits: Mapping[str, float] = field(default_factory=dict)
    head_start: float = HEAD_START
    brokers: int = 1
    prefixed: bool = True
    """Whether the system takes ``{topic_prefix}``: if not, its topic has no run prefix either."""

    @property
    def checks(self) -> list[str]:
        """The rules that apply before the user has written a workload (see ``CHECKS`` in the conftest)."""
        return ["services-alive", *(["transient-state-limit"] if self.limits else [])]

    @property
    def settle(self) -> float:
        """Seconds after a heal before judging: past the longest limit, so a stuck resource shows."""
        return max(self.limits.values(), default=3.0) + 2.0

    def role_of(self, service: str) -> str:
        return next(s.role for s in self.services if s.name == service and s.role is not None)

    def spec(self) -> SystemSpec:
        """The spec the generated conftest builds (its constructors validate it)."""
        return SystemSpec(
            self.name,
            services=[ServiceSpec(s.name, list(s.argv), role=s.role, env=dict(self.env), ready=s.ready)
                      for s in self.services],
            probe=ProbeSpec(query=self.query) if self.query else None,
            invariants=InvariantSpec(transient_limits=dict(self.limits)),
            checks=self.checks,
        )


def py(value: str | float) -> str:
    """A Python literal: JSON's string syntax is Python's (double quotes, backslash escapes)."""
    return json.dumps(value) if isinstance(value, str) else repr(float(value))


def wrapped(entries: Sequence[str], brackets: str, indent: int, start: int | None = None) -> str:
    """Entries in ``brackets`` on one line if it fits from column ``start`` (default ``indent``;
    with a trailing comma), else one entry a line, indented from ``indent``."""
    inline = brackets[0] + ", ".join(entries) + brackets[1]
    if (indent if start is None else start) + len(inline) + 1 <= LINE:
        return inline
    pad = " " * (indent + 4)
    return brackets[0] + "\n" + "".join(f"{pad}{entry},\n" for entry in entries) + " " * indent + brackets[1]


def py_list(items: Sequence[str], indent: int) -> str:
    return wrapped([py(item) for item in items], "[]", indent)


def py_dict(items: Mapping[str, str] | Mapping[str, float], start: int) -> str:
    """A top-level dict literal, its first line beginning at column ``start``."""
    return wrapped([f"{py(key)}: {py(value)}" for key, value in items.items()], "{}", 0, start)


def service_code(service: StarterService, env: bool) -> str:
    """One ``ServiceSpec(...)`` of the services list, keyword per line."""
    lines = [py(service.name), py_list(service.argv, 16)]
    lines.append(f"role={py(service.role) if service.role else 'None'}")
    if env:
        lines.append("env=ENV")
    if service.ready:
        lines.append(f"ready={py(service.ready)}")
    return "            ServiceSpec(\n" + "".join(f"                {line},\n" for line in lines) + "            ),\n"


def long_lines_allowed(source: str) -> str:
    """With a line past ``LINE`` (a long command, or its long readiness URL), turn E501 off for the
    file, said above the command that wrote it: a ``noqa`` at the end of a line would break the
    shell continuation in that command's comment. The templates' own lines and docstrings are
    short, and user text reaches only code lines and comments."""
    in_string, too_long = False, False
    for line in source.splitlines():
        too_long = too_long or (not in_string and overlong(line))
        if line.count('"""') % 2 and not line.lstrip().startswith("#"):
            in_string = not in_string
    if not too_long:
        return source
    return source.replace(MADE_WITH, f"# Some lines here (a command) are longer than {LINE}:\n# ruff: noqa: E501\n"
                          + MADE_WITH, 1)


def overlong(line: str) -> bool:
    """Whether ruff's E501 flags the line: past ``LINE``, but not one word (a long path alone) nor
    ending in a URL that starts within the limit, which ruff lets pass (a ``noqa`` on those would
    be unused: RUF100)."""
    chunks = line.split()
    if len(line) <= LINE or len(chunks) < 2:
        return False
    return not ("://" in chunks[-1] and len(line) - len(chunks[-1]) <= LINE)


def made_with(command: str) -> str:
    """The command that wrote a file, as comment lines (a comment needs no escaping, unlike a docstring)."""
    return MADE_WITH + "".join(f"#   {line}\n" for line in command.splitlines())


def render_conftest(starter: Starter, command: str) -> str:
    env_block = ""
    if starter.env:
        env_block = f'ENV = {py_dict(starter.env, len("ENV = "))}\n"""{ENV_DOC}"""\n\n'
    return long_lines_allowed(Template(CONFTEST).substitute(
        command=made_with(command), name_literal=py(starter.name), env_block=env_block,
        services="".join(service_code(s, bool(starter.env)) for s in starter.services),
        probe=f"ProbeSpec(query={py(starter.query)})" if starter.query else "None",
        limits=py_dict(starter.limits, len("LIMITS: dict[str, float] = ")) if starter.limits else "{}",
        checks="".join(f"    {py(check)},\n" for check in starter.checks),
    ))


def render_scenarios(starter: Starter, command: str) -> str:
    cluster, cut = "infra3" if starter.brokers == 3 else "infra", starter.role_of(starter.cut)
    return long_lines_allowed(Template(SCENARIOS).substitute(
        command=made_with(command), early=py(starter.early), cut=py(cut),
        cut_note="" if cut == starter.cut else f"  # the role of {starter.cut}",
        topic=py(starter.topic), head_start=py(starter.head_start), settle=py(starter.settle), cluster=cluster,
        topic_expr="run.topic_prefix + TOPIC" if starter.prefixed else "TOPIC",
    ))


def render(starter: Starter, command: str) -> dict[str, str]:
    """File name -> its text; ``command`` is the ``evchaos init`` line that made them (quoted in them)."""
    return dict(zip(FILES, (render_conftest(starter, command), render_scenarios(starter, command)), strict=True))
