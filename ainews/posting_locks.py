"""One lock per channel, held from choosing what to post there until the ledger records it.

So two commands at once, or a command and a digest, cannot post the same story twice in one
channel. Shutdown waits for the locks held at that moment (:meth:`PostingLocks.wait_released`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class PostingLocks:
    def __init__(self) -> None:
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    def for_channel(self, channel_id: int) -> asyncio.Lock:
        return self._locks[channel_id]

    async def wait_released(self, deadline: float) -> bool:
        """Wait until every lock held now is released, or until ``deadline`` (loop time);
        False if one was still held then."""
        try:
            async with asyncio.timeout_at(deadline):
                for lock in list(self._locks.values()):
                    if lock.locked():
                        async with lock:
                            pass
        except TimeoutError:
            return False
        return True
