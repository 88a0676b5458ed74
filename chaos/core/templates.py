"""Templates in a spec's commands, environments and probes: ``{name}`` placeholders, filled per run.

Kept apart from the spec's data so readiness and probes can fill templates without importing the
spec (which re-exports them).
"""

from __future__ import annotations

import string
from collections.abc import Mapping

PLACEHOLDERS = ("bootstrap", "topic_prefix", "db", "workdir", "service", "failpoints", "kafka_user", "kafka_password")
"""What every run provides: the service's own role's bootstrap servers, the run's topic prefix, the
database path, the work folder, the service's name and its failpoints file, and on a secured cluster
the service's own Kafka principal and password (empty strings on a cluster without security); a
caller may add more."""


class SpecError(ValueError):
    """A spec is inconsistent or a template cannot be filled in; the message says where."""


def format_placeholders(template: str, values: Mapping[str, str], where: str = "template") -> str:
    """Fill ``{name}`` placeholders, naming the unknown one and the known ones on error."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise SpecError(
            f"{where}: malformed template {template!r} ({exc}); write literal braces as {{{{ }}}}"
        ) from None
    for name in names:
        if name not in values:
            known = ", ".join(sorted(values)) or "none"
            raise SpecError(
                f"{where}: unknown placeholder {{{name}}} in {template!r}; known placeholders: {known}"
            )
    return template.format_map(values)
