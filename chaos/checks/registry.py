"""The registry of checks, so a suite, a spec or the command line can pick rules by name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar, cast

from chaos.checks.base import Check, Verdict
from chaos.checks.params import InvariantSpec
from chaos.core.history import History

_CHECKS: dict[str, Check] = {}
T = TypeVar("T")


def register(check: T) -> T:
    """Add a check instance, or (as a class decorator) a check class with a no-argument constructor."""
    instance = cast(Check, check() if isinstance(check, type) else check)
    if instance.name in _CHECKS and type(_CHECKS[instance.name]) is not type(instance):
        raise ValueError(f"a different check is already registered as {instance.name!r}")
    _CHECKS[instance.name] = instance
    return check


def unregister(name: str) -> None:
    """Remove a check (tests registering throw-away checks clean up with this)."""
    _CHECKS.pop(name, None)


def get_check(name: str) -> Check:
    try:
        return _CHECKS[name]
    except KeyError:
        raise KeyError(f"no check named {name!r}; known checks: {', '.join(check_names())}") from None


def check_names() -> list[str]:
    return sorted(_CHECKS)


def run_checks(history: History, params: InvariantSpec, names: Iterable[str] | None = None) -> list[Verdict]:
    """Run the named checks (all registered ones by default) and return their verdicts in order.

    A check that crashes yields a failed verdict saying so instead of hiding the other checks'
    verdicts: a harness bug must be visible, but must not mask a real violation.
    """
    verdicts: list[Verdict] = []
    for name in names if names is not None else check_names():
        check = get_check(name)
        try:
            verdicts.extend(check.check(history, params))
        except Exception as exc:
            verdicts.append(Verdict(invariant=name, ok=False, message=f"the check itself crashed: {exc!r}"))
    return verdicts
