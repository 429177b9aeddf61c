"""A bounded queue in front of the generator: a few answers run, a few wait, the rest retry.

Generating on a CPU takes seconds, so piling requests up only makes every one of them late.
`Slots.hold()` admits a caller when a slot is free, lets up to `queue` callers wait for one,
and turns everyone beyond that away at once with GeneratorBusy (HTTP 503 + Retry-After).
Waiting callers are served in the order they arrived.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from rag.errors import GeneratorBusy


class Slots:
    def __init__(self, slots: int, queue: int, retry_after_s: int = 5) -> None:
        self.slots = slots
        self.queue = queue
        self.retry_after_s = retry_after_s
        self.running = 0
        self._waiting: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def full(self) -> bool:
        return self.running >= self.slots and len(self._waiting) >= self.queue

    def busy_error(self) -> GeneratorBusy:
        return GeneratorBusy(
            f"the answer queue is full ({self.running} running, {self.waiting} waiting); "
            f"retry in {self.retry_after_s}s"
        )

    @contextmanager
    def hold(self) -> Iterator[None]:
        turn = threading.Event()
        with self._lock:
            if self.running < self.slots and not self._waiting:
                self.running += 1
                turn.set()
            elif len(self._waiting) >= self.queue:
                raise self.busy_error()
            else:
                self._waiting.append(turn)
        turn.wait()
        try:
            yield
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting.popleft().set()  # the slot passes straight on, in order
                else:
                    self.running -= 1
