"""Waits between reconnect attempts to a peer that may be down."""

from __future__ import annotations

import asyncio


class Backoff:
    """Exponential waits between reconnects, reset after a success."""

    def __init__(self, first: float = 0.1, most: float = 5.0) -> None:
        self._first, self._most, self._next = first, most, first

    async def wait(self) -> None:
        await asyncio.sleep(self._next)
        self._next = min(self._next * 2, self._most)

    def reset(self) -> None:
        self._next = self._first
