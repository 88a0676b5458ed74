"""The fault registry: every kind by name, so schedules (data) can name faults and get live ones.

Kinds register themselves with ``@register`` when their module in ``chaos.faults.kinds`` is
imported, and that package imports every module in its folder: adding a fault is adding a file.
Names are matched with ``-`` and ``_`` treated alike (``slow_close`` and ``slow-close``), since
Toxiproxy spells its toxics with underscores and schedules tend to use hyphens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chaos.faults.base import BaseFault
from chaos.faults.params import FaultSpecError

if TYPE_CHECKING:
    from chaos.faults.context import FaultContext

_KINDS: dict[str, type[BaseFault]] = {}
F = TypeVar("F", bound=type[BaseFault])


def _key(kind: str) -> str:
    return kind.strip().lower().replace("_", "-")


def register(cls: F) -> F:
    """Class decorator: make ``cls.kind`` available to ``make_fault``."""
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no 'kind'")
    existing = _KINDS.get(_key(cls.kind))
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"fault kind {cls.kind!r} is already registered by {existing.__name__}")
    _KINDS[_key(cls.kind)] = cls
    return cls


def _load() -> None:
    import chaos.faults.kinds  # noqa: F401 - registers the built-in kinds


def fault_kinds(of: type[BaseFault] | None = None) -> list[str]:
    """Every registered kind (or those built on ``of``, e.g. every Toxiproxy toxic), as its class spells it."""
    _load()
    return sorted(cls.kind for cls in _KINDS.values() if of is None or issubclass(cls, of))


def fault_class(kind: str) -> type[BaseFault]:
    _load()
    try:
        return _KINDS[_key(kind)]
    except KeyError:
        raise FaultSpecError(f"unknown fault kind {kind!r}; known kinds: {', '.join(fault_kinds())}") from None


def describe_kinds() -> dict[str, str]:
    """Kind -> one line: what it does and its parameters (for ``--help`` texts and reports)."""
    _load()
    described = {}
    for cls in sorted(_KINDS.values(), key=lambda c: c.kind):
        params = "; ".join(param.describe(name) for name, param in cls.PARAMS.items())
        described[cls.kind] = cls.summary + (f" Parameters: {params}" if params else "")
    return described


def make_fault(ctx: FaultContext, kind: str, target: str, params: Mapping[str, Any] | None = None) -> BaseFault:
    """A validated, not yet applied fault; ``FaultSpecError`` names what is wrong and what is allowed."""
    return fault_class(kind)(ctx, target, params)
