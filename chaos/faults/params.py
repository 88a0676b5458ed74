"""Declared, validated fault parameters.

Schedules come from files and seeded generators, so a typo (``latncy: 500``) or a wrong type must
fail when the fault is made, with a message naming the kind, the parameter and what is allowed,
rather than reaching Toxiproxy as an ignored attribute or a 400 in the middle of a run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class FaultSpecError(ValueError):
    """A fault kind, target or parameter is wrong; the message names it and what is allowed."""


@dataclass(frozen=True)
class Param:
    """One parameter: its type (``int``, ``float``, ``str`` or ``bool``), default, bounds and meaning.

    A ``None`` default makes the parameter optional with no value. Integral floats are accepted for
    ``int`` parameters (``500.0`` from a generator), since Toxiproxy wants integers.
    """

    default: Any
    help: str
    type: type = int
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()

    def bounds(self, name: str) -> str:
        """``0 <= name <= 1``, ``one of a/b``, or empty."""
        if self.choices:
            return f"one of {'/'.join(self.choices)}"
        if self.min is None and self.max is None:
            return ""
        low = "" if self.min is None else f"{self.min:g} <= "
        high = "" if self.max is None else f" <= {self.max:g}"
        return f"{low}{name}{high}"

    def describe(self, name: str) -> str:
        bounds = self.bounds(name)
        return f"{name} ({self.type.__name__}{' ' + bounds if bounds else ''}, default {self.default!r}): {self.help}"

    def check(self, kind: str, name: str, value: Any) -> Any:
        where = f"fault {kind!r} parameter {name!r}"
        if value is None:
            return self.default
        if self.type is bool:
            if not isinstance(value, bool):
                raise FaultSpecError(f"{where} must be true or false, got {value!r}")
            return value
        if self.type is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                allowed = f"one of {', '.join(self.choices)}" if self.choices else "a string"
                raise FaultSpecError(f"{where} must be {allowed}, got {value!r}")
            return value
        return self._number(where, value)

    def _number(self, where: str, value: Any) -> Any:
        numeric = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if numeric and self.type is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not numeric or (self.type is int and not isinstance(value, int)):
            raise FaultSpecError(f"{where} must be {'an integer' if self.type is int else 'a number'}, got {value!r}")
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise FaultSpecError(f"{where} is {value!r}; it must satisfy {self.bounds('value')}")
        return self.type(value)


def validate_params(kind: str, declared: Mapping[str, Param], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every declared parameter, from ``given`` or its default; unknown names are an error."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = "; ".join(param.describe(name) for name, param in declared.items()) or "none"
        raise FaultSpecError(f"fault {kind!r} has no parameter {unknown[0]!r}; its parameters: {known}")
    return {name: param.check(kind, name, given.get(name)) for name, param in declared.items()}
