"""What a record may be before anyone parses it, and a one-line reason when it is not.

Every consumer (Central, the engines, the drivers) reads records that anybody with a Kafka client
can write, so the cheap bounds come before the expensive or dangerous work:

- **size** (``MAX_RECORD_BYTES``, env ``EVCHARGE_MAX_RECORD_BYTES``): our largest message is a CP
  list of a few KB; a quarter MiB leaves room and keeps one record from costing a consumer much.
- **nesting depth** (``MAX_DEPTH``): ``json.loads`` recurses once per ``[``/``{``, so a few KB of
  brackets raised ``RecursionError``, which nobody caught: Central exited on every restart and the
  engines' receiving threads died. Our messages nest 4 deep. Counting brackets is enough for almost
  every record (fewer brackets than the limit cannot nest deeper); only records with more are
  scanned, outside strings, in linear time (see ``nesting_depth``).
- **finite numbers**: ``NaN``/``Infinity`` literals become a marker the models refuse (so the reason
  names the field), and the models refuse ``1e999`` (``allow_inf_nan=False``): an infinite kWh once
  made a ticket that could not be encoded, and the driver waited for ever.
- **timestamp window** (``MAX_FUTURE_S`` 300 s, ``MAX_AGE_S`` 24 h; env ``EVCHARGE_MAX_FUTURE_S``,
  ``EVCHARGE_MAX_AGE_S``): five minutes absorbs clock skew between hosts; a day covers Central's
  outbox re-sent after an outage. The window is also what bounds how long a consumer must remember
  the ids it processed (``DEDUP_RETENTION_S``, Central's ``processed`` table and an engine's
  supplied sessions): an older record is refused here, so it can never be applied twice.

The models (``messages.py``) add strict types (``"true"`` is not a bool, ``"5"`` not a number) and a
length bound on every string; ``first_error`` turns pydantic's errors into one line.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from pydantic import ValidationError

from evcharge.config import env_number

MAX_RECORD_BYTES = int(env_number("EVCHARGE_MAX_RECORD_BYTES", 256 * 1024))
MAX_DEPTH = 32
MAX_FUTURE_S = env_number("EVCHARGE_MAX_FUTURE_S", 300.0)
MAX_AGE_S = env_number("EVCHARGE_MAX_AGE_S", 24 * 3600.0)
DEDUP_MARGIN_S = 600.0
"""Slack on top of the window for the gap between the clock reads involved (a batch's ``now`` is
taken before its records are decoded, a prune runs between batches) and for small clock steps."""
DEDUP_RETENTION_S = MAX_AGE_S + MAX_FUTURE_S + DEDUP_MARGIN_S
"""How long a processed id must be remembered so that every record this process may still accept is
recognised as a duplicate. Derived, never set on its own: a record first processed at ``p`` carries
a timestamp of at most ``p + MAX_FUTURE_S`` (or it was refused), and is refused once more than
``MAX_AGE_S`` older than the clock, so a redelivery can be accepted up to ``p + MAX_FUTURE_S +
MAX_AGE_S``; an id forgotten sooner (a fixed 24 h was, by the future allowance) let a redelivered
record be applied twice. Follows ``EVCHARGE_MAX_AGE_S`` / ``EVCHARGE_MAX_FUTURE_S``."""
TEXT_MAX = 500
"""Free text (reasons, details): long enough for any sentence we write, short enough to log."""
RAW_EXCERPT = 10_000
"""Characters of a rejected record kept in its dead letter (the same as Central keeps)."""

# A JSON string, from its opening quote to its closing one -- or to the end of the record, so the
# pattern can never fail and be retried from the next quote (that retrying is quadratic on records
# like '"\"\"\"...' without a closing quote). Possessive: no backtracking inside a string.
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_DELTA = [0] * 256
_DELTA[ord("[")] = _DELTA[ord("{")] = 1
_DELTA[ord("]")] = _DELTA[ord("}")] = -1
_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


class InvalidMessage(ValueError):
    """Raised by ``decode`` with a one-line reason suitable for the dead-letter record.

    ``message`` is the decoded message when only a late check (the timestamp window) failed, so a
    consumer can still tell a record addressed to somebody else, which is not its to reject.
    """

    def __init__(self, reason: str, message: Any = None) -> None:
        super().__init__(reason)
        self.message = message


class NonFinite:
    """What a ``NaN``/``Infinity`` literal parses to: no model accepts it, and it prints as written."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __repr__(self) -> str:
        return self.literal


_DECODER = json.JSONDecoder(parse_constant=NonFinite)


def nesting_depth(raw: bytes) -> int:
    """The deepest ``[``/``{`` nesting of ``raw`` outside strings; linear, in C loops only (at worst
    about 6 ms for 256 KiB of brackets, twice as long as parsing them).

    An unterminated string swallows the rest of the record, as it does for the parser (which never
    looks at brackets inside a string, and fails at the end of an unterminated one).
    """
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_DELTA.__getitem__, brackets), initial=0))


def parse_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object; InvalidMessage saying what it is instead.

    Size and depth first, before any parsing; the bracket count spares almost every record the scan.
    """
    if not raw:
        raise InvalidMessage("empty record")
    if len(raw) > MAX_RECORD_BYTES:
        raise InvalidMessage(f"record of {len(raw)} bytes exceeds {MAX_RECORD_BYTES}")
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and nesting_depth(raw) > MAX_DEPTH:
        raise InvalidMessage(f"nested deeper than {MAX_DEPTH} levels")
    try:
        data = _DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidMessage(f"not UTF-8: {exc}") from None
    except RecursionError:  # unreachable below MAX_DEPTH; kept so no bound can ever be missed
        raise InvalidMessage("nested too deeply to parse") from None
    except ValueError as exc:
        raise InvalidMessage(f"not JSON: {exc}") from None
    if type(data) is not dict:
        kind = "null" if data is None else _JSON_TYPES.get(type(data), type(data).__name__)
        raise InvalidMessage(f"not a JSON object but {kind}")
    return data


def timestamp_problem(timestamp: float, now: float) -> str | None:
    """Why ``timestamp`` is outside the accepted window around ``now``, or None if it is inside."""
    if timestamp > now + MAX_FUTURE_S:
        return f"timestamp {timestamp:.3f} is {timestamp - now:.0f} s in the future (more than {MAX_FUTURE_S:g} s)"
    if timestamp < now - MAX_AGE_S:
        return f"timestamp {timestamp:.3f} is {now - timestamp:.0f} s old (older than {MAX_AGE_S:g} s)"
    return None


def first_error(exc: ValidationError, prefix: str = "") -> str:
    """One line: where, what was wrong, what was given (scalars only, shortened), how many more.

    A wrong value sent is named before a field left out: it says more about the sender.
    """
    errors = exc.errors(include_url=False)
    err = next((e for e in errors if e.get("type") != "missing"), errors[0])
    loc = ".".join(str(p) for p in err.get("loc", ()))
    where = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "(root)"
    given = err.get("input")
    non_finite = isinstance(given, NonFinite) or (isinstance(given, float) and not math.isfinite(given))
    if non_finite and err.get("type") != "extra_forbidden":
        text = f"{where}: {_show(given)} is not a finite number"
    else:
        text = f"{where}: {err.get('msg')}{_given(err.get('type'), given)}"
    more = exc.error_count() - 1
    return text + (f" (+{more} more error(s))" if more else "")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return repr(value)


def _given(kind: Any, value: Any) -> str:
    if kind == "missing" or not isinstance(value, str | int | float | bool | type(None)):
        return ""
    if isinstance(value, str) and len(value) > 40:
        return f", got a string of {len(value)} characters"
    return f", got {value!r}"


def excerpt(raw: bytes | str | None) -> str:
    """The start of a rejected record as text, for its dead letter (never more than ``RAW_EXCERPT``)."""
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        return raw[: RAW_EXCERPT * 4].decode("utf-8", "replace")[:RAW_EXCERPT]
    return raw[:RAW_EXCERPT]
