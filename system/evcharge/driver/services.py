"""Services-file mode: one CP id per line, each charged in turn, with a pause between services.

Blank lines and ``#`` comments are skipped. The pause (4 s in the original statement) is
configurable so tests do not wait for it. The runner is supervised (``supervise.py``): after an
unforeseen error it goes on with the next CP (the one it was serving is counted as ``error``).
"""

from __future__ import annotations

import collections
import logging
import threading
from pathlib import Path

from evcharge.driver.core import Driver
from evcharge.supervise import Supervised

log = logging.getLogger("evcharge.driver.services")


def read_services(path: Path) -> list[str]:
    """CP ids from ``path``; ValueError naming the line if one is not a plausible CP id."""
    cps = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if any(ch.isspace() for ch in text) or len(text) > 64:
            raise ValueError(f"{path}:{number}: {text!r} is not a CP id")
        cps.append(text)
    return cps


def run_services(
    driver: Driver, cps: list[str], pause: float, stopping: threading.Event, duration_s: float | None = None
) -> dict[str, int]:
    """Charge at each CP in turn; returns how many requests ended in each final state."""
    outcome: collections.Counter[str] = collections.Counter()
    todo = collections.deque(cps)

    def serve() -> None:
        while todo and not stopping.is_set():
            cp_id = todo.popleft()
            outcome["error"] += 1  # until the service ends: a crash leaves it counted as an error
            request = driver.request_charge(cp_id, duration_s)
            done = driver.wait_final(request.request_id, timeout=driver.config.request_deadline + 3600)
            outcome["error"] -= 1
            outcome[done.state] += 1
            log.info("service finished", extra={"cp_id": cp_id, "state": done.state, "reason": done.reason})
            if todo and stopping.wait(pause):
                break

    Supervised("services", serve, stopping).run()
    return {state: count for state, count in outcome.items() if count}
