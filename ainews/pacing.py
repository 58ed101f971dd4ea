"""Proactive pacing under Discord's global rate limit.

discord.py waits out a 429 after the fact and follows per-route buckets from the response
headers, but it does not pace a burst across many channels: 1,000 digests due in one minute would
hit the global limit (50 requests/s per bot). The pacer spaces requests evenly at a rate a little
under that limit, so no 429 happens while nearly all of the allowed rate is used. The limit is
the bot's, not a process's: several processes of one deployment share it, each pacing at its
share (:func:`share_of_budget`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: Discord allows 50 requests/s per bot; keep two per second for commands and everything else.
DIGEST_REQUESTS_PER_SECOND = 48.0


class Pacer:
    """Hands out evenly spaced send slots: at most ``rate`` per second, no bursts."""

    def __init__(
        self, rate: float = DIGEST_REQUESTS_PER_SECOND, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._next_slot = 0.0
        self._lock = asyncio.Lock()

    @property
    def rate(self) -> float:
        return 1.0 / self.interval

    def set_rate(self, rate: float) -> None:
        """Pace at ``rate`` from the next slot on (a process's share of the bot's budget)."""
        self.interval = 1.0 / rate

    async def wait(self) -> None:
        """Return when the caller may send its next request."""
        async with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def share_of_budget(live_processes: int) -> float:
    """One process's digest rate when ``live_processes`` share the bot's global limit."""
    return DIGEST_REQUESTS_PER_SECOND / max(live_processes, 1)
