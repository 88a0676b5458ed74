"""Waiting for independent things at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


def in_parallel(waits: list[Callable[[], object]]) -> None:
    """Run independent waits together (each in its own thread); re-raise the first failure.

    Waiting for the CPs and for each driver one after another cost their sum on every scenario's
    start; together they cost the longest. The first wait runs in the caller's thread, so a single
    wait costs no thread at all.
    """
    errors: list[BaseException] = []

    def run(wait: Callable[[], object]) -> None:
        try:
            wait()
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in waits[1:]]
    for thread in threads:
        thread.start()
    run(waits[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
