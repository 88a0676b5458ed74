"""``inject-wrong-types``: a real record of the topic with one field's type changed (or a non-finite number).

Each variant changes one scalar of the sample, in document order: a string becomes a number, a
number a string, a boolean the string ``"true"``, a null an object; numbers also become ``NaN`` and
``Infinity``. A strict decoder rejects every one; a lax one coerces, and believes.
"""

from __future__ import annotations

import json
from typing import Any

from chaos.faults.base import Param
from chaos.faults.messages import MessageFault, leaves, replaced
from chaos.faults.registry import register


def swapped(value: Any) -> Any:
    """The same value in another JSON type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 12345
    return {"unexpected": True}  # null


@register
class InjectWrongTypes(MessageFault):
    kind = "inject-wrong-types"
    summary = "Write copies of a real record of the topic, each with one field of the wrong type or not finite."
    needs_sample = True
    PARAMS = {"count": Param(12, "at most this many fields are changed, one per record", int, 1, 200)}

    def records(self, sample: bytes | None) -> list[tuple[bytes, str]]:
        document = json.loads(sample or b"{}")
        made = []
        scalars = leaves(document)[: self.params["count"]]
        for path, value in scalars:
            where = ".".join(str(p) for p in path)
            wrong = swapped(value)
            made.append((json.dumps(replaced(document, path, wrong)).encode(), f"{where}: {value!r} -> {wrong!r}"))
        numbers = [(path, v) for path, v in scalars if isinstance(v, int | float) and not isinstance(v, bool)]
        for path, _ in numbers[:2]:
            where = ".".join(str(p) for p in path)
            for odd in (float("nan"), float("inf")):
                made.append((json.dumps(replaced(document, path, odd)).encode(), f"{where}: {odd!r}"))
        return made
