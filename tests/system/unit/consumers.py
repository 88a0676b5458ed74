"""A stand-in for the resilient consumer, so an inbox loop runs without a broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """The few attributes of a kafka-python ConsumerRecord the inbox reads."""

    value: bytes | None
    topic: str = "t.cp-commands"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None


class FakeConsumer:
    """``poll`` hands out queued records (or raises what ``fail`` returns); counts commits and closes."""

    def __init__(self) -> None:
        self.queue: list[Record] = []
        self.fail: Callable[[], Exception | None] = lambda: None
        self.commits = 0
        self.closes = 0
        self.polls = 0
        self.lock = threading.Lock()

    def put(self, *records: Record) -> None:
        with self.lock:
            self.queue.extend(records)

    def poll(self, timeout: float, max_records: int = 500) -> list[Record]:
        self.polls += 1
        error = self.fail()
        if error is not None:
            raise error
        with self.lock:
            records, self.queue = self.queue[:max_records], self.queue[max_records:]
        if not records:
            time.sleep(min(timeout, 0.01))
        return records

    def commit(self, wait: bool = True) -> bool:
        self.commits += 1
        return True

    def close(self) -> None:
        self.closes += 1
