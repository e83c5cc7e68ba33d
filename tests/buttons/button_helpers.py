"""Helpers of the button tests: a clock the test moves, and waiting for a condition."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class FakeClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def until(predicate: Callable[[], object], timeout: float = 3.0) -> None:
    """Wait until ``predicate()`` is true; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)
