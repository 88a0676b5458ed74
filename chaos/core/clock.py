"""One clock for a whole test: every event, fault and state sample is stamped from it.

Wall time alone jumps (NTP, suspend) and monotonic time alone means nothing to a human reading a
report, so a ``Clock`` pins one wall-clock instant to one monotonic instant at start and derives both
"seconds since start" (what checks compare) and an absolute time (what verdicts print) from the
monotonic offset. A history loaded from disk gets a ``Clock`` rebuilt from its recorded start time,
so offline checks print the same absolute times as the live run.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta


class Clock:
    """Seconds since start on a monotonic base, anchored to the wall-clock time of the start."""

    def __init__(self, start_wall: datetime | None = None, start_mono: float | None = None) -> None:
        self.start_wall = (start_wall or datetime.now().astimezone()).astimezone()
        self.start_mono = time.monotonic() if start_mono is None else start_mono

    @classmethod
    def from_iso(cls, start_iso: str) -> Clock:
        """A clock for a recorded history: only ``wall``/``iso``/``hms`` are meaningful on it."""
        return cls(datetime.fromisoformat(start_iso))

    def now(self) -> float:
        """Seconds since the clock started, never going backwards."""
        return time.monotonic() - self.start_mono

    def wall(self, t: float) -> datetime:
        """The absolute time of offset ``t``, in the time zone the clock started in."""
        return self.start_wall + timedelta(seconds=t)

    def at(self, epoch_seconds: float) -> float:
        """The history time of a Unix timestamp (e.g. one a system wrote in its own database)."""
        return epoch_seconds - self.start_wall.timestamp()

    def iso(self, t: float) -> str:
        return self.wall(t).isoformat(timespec="milliseconds")

    def hms(self, t: float) -> str:
        """``12:00:03.120``: short enough for a verdict message."""
        return self.wall(t).strftime("%H:%M:%S.%f")[:-3]
