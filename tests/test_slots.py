"""The queue in front of the generator: a few answers run, a few wait in order, the rest are
turned away at once with GeneratorBusy (HTTP 503 with Retry-After)."""

from __future__ import annotations

import threading
import time

import pytest

from rag.errors import GeneratorBusy
from rag.slots import Slots


def test_a_full_queue_turns_callers_away_and_serves_the_waiting_in_order() -> None:
    slots = Slots(slots=1, queue=2, retry_after_s=7)
    release = threading.Event()
    served: list[int] = []

    def answer(n: int) -> None:
        with slots.hold():
            served.append(n)
            if n == 0:
                release.wait(10)

    first = threading.Thread(target=answer, args=(0,))
    first.start()
    while slots.running == 0:
        time.sleep(0.01)
    waiting = []
    for n in (1, 2):
        thread = threading.Thread(target=answer, args=(n,))
        thread.start()
        waiting.append(thread)
        while slots.waiting < n:
            time.sleep(0.01)
    assert slots.full
    with pytest.raises(GeneratorBusy, match="retry in 7s"), slots.hold():
        pass
    release.set()
    for thread in (first, *waiting):
        thread.join(10)
    assert served == [0, 1, 2]  # in the order they came
    assert (slots.running, slots.waiting, slots.full) == (0, 0, False)
