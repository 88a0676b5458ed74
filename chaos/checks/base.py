"""The check interface and its verdicts.

A check is anything with a ``name`` and ``check(history, params) -> list[Verdict]``: one file per
rule, all judged the same way. A verdict must let someone act without opening the history: which
rule, which resource, when (offset and wall-clock time), which fault windows were active, and the
seed that replays the run. ``Judge`` builds those messages so every check phrases them alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from chaos.checks.params import InvariantSpec
from chaos.checks.views import FaultWindow, fault_windows
from chaos.core.history import History


def secs(value: float) -> str:
    """A limit as people write it: ``15 s``, ``0.5 s``."""
    return f"{value:g} s"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one rule on one resource (or on the whole history when ``resource`` is None).

    ``value`` carries the measured figure behind the verdict (seconds in the state, latency, time to
    recovery) so reports can tabulate it; ``windows`` names the fault windows that overlapped.
    """

    invariant: str
    ok: bool
    message: str
    resource: str | None = None
    t: float | None = None
    at: str | None = None
    windows: tuple[str, ...] = ()
    value: float | None = None
    seed: int | None = None
    replay: str | None = None

    def __str__(self) -> str:
        return f"[{'ok' if self.ok else 'FAILED'}] {self.invariant}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["windows"] = list(self.windows)
        return raw


class Check(Protocol):
    """One invariant over a recorded history."""

    name: str

    def check(self, history: History, params: InvariantSpec) -> list[Verdict]:
        """All violations found, or a single ok verdict saying what was checked."""
        ...


@dataclass
class Judge:
    """Phrases verdicts for one check on one history: times, fault windows and the replay hint."""

    invariant: str
    history: History
    params: InvariantSpec
    windows: list[FaultWindow] = field(init=False)

    def __post_init__(self) -> None:
        self.windows = fault_windows(self.history)

    @property
    def seed(self) -> int | None:
        return self.history.seed

    def replay_hint(self) -> str | None:
        return None if self.seed is None else f"replay with --chaos-seed {self.seed}"

    def during(self, start: float, end: float) -> tuple[list[FaultWindow], str]:
        """The windows active in ``[start, end]`` and a phrase naming them (or the last one before).

        A window that healed at ``start`` itself is not "during": a verdict dated at a heal (the
        recovery rule's) is about what came after that fault, so it reads "as 'X' healed"."""
        healed = [w for w in self.windows if w.end is not None and w.end <= start]
        active = [w for w in self.windows if w.overlaps(start, end) and w not in healed]
        if active:
            return active, "during " + ", ".join(f"'{w.name}'" for w in active)
        if healed:
            last = max(healed, key=lambda w: w.end or 0.0)
            gap = start - (last.end or 0.0)
            return [], f"as '{last.name}' healed" if gap < 0.05 else f"{gap:.1f} s after '{last.name}' healed"
        return [], "with no fault active"

    def failed(
        self,
        text: str,
        resource: str | None,
        start: float,
        end: float | None = None,
        value: float | None = None,
        when: str = "since",
    ) -> Verdict:
        """A failed verdict: ``text`` is the rule-specific part; time, windows and replay are added."""
        active, phrase = self.during(start, end if end is not None else start)
        message = f"{text} {when} {self.history.clock.hms(start)}, {phrase}"
        hint = self.replay_hint()
        if hint:
            message += f"; {hint}"
        return Verdict(
            invariant=self.invariant,
            ok=False,
            message=message,
            resource=resource,
            t=start,
            at=self.history.clock.iso(start),
            windows=tuple(w.name for w in active),
            value=value,
            seed=self.seed,
            replay=hint,
        )

    def passed(self, text: str, value: float | None = None) -> Verdict:
        return Verdict(invariant=self.invariant, ok=True, message=text, value=value, seed=self.seed)

    def verdicts(
        self, failures: Sequence[Verdict], ok_text: str, value: float | None = None
    ) -> list[Verdict]:
        """The failures if any, else one ok verdict: every check returns at least one verdict."""
        return list(failures) if failures else [self.passed(ok_text, value)]
