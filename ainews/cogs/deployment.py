"""This process among the deployment's: a heartbeat in the store every few seconds, and the
digest pacer's share of the bot's one global rate limit (Discord's 50 requests/s is per bot, not
per process), rebalanced at each beat as processes start and die. ``/status`` lists the live
processes from here."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from discord.ext import commands

from ainews.clock import utc_now
from ainews.pacing import share_of_budget
from ainews.store.database import StoreUnavailable
from ainews.store.processes import HEARTBEAT_EVERY, BotProcess

if TYPE_CHECKING:
    from ainews.app import NewsBot

log = logging.getLogger(__name__)
#: A process joining others sends no digest for this long: by then each of them has beaten
#: and slowed to its new share, so the shares never add up past the bot's budget.
SETTLE_SECONDS = HEARTBEAT_EVERY.total_seconds() + 1


class Deployment(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.registry = bot.processes
        #: The live processes at the last beat (this one included), oldest first.
        self.live: list[BotProcess] = []
        self._beating: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        await self.beat()  # before any digest goes out: the pacer starts at its share
        self._beating = asyncio.create_task(self._beat_forever(), name="ainews-heartbeat")
        if len(self.live) <= 1:
            self.bot.rate_share_settled.set()
        else:  # the others still pace at their old, larger share until their next beat
            loop = asyncio.get_running_loop()
            loop.call_later(SETTLE_SECONDS, self.bot.rate_share_settled.set)

    async def cog_unload(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
        try:
            await self.registry.leave()  # the others take its share at their next beat
        except StoreUnavailable as unavailable:
            log.warning("could not leave the list of live processes: %s", unavailable)

    async def beat(self) -> None:
        try:
            self.live = await self.registry.beat(utc_now())
        except StoreUnavailable as unavailable:
            log.warning("heartbeat not recorded: %s", unavailable)
            return
        rate = share_of_budget(len(self.live))
        pacer = self.bot.deliverer.pacer
        if rate != pacer.rate:
            log.info("%d live process(es): digests paced at %.1f requests/s", len(self.live), rate)
            pacer.set_rate(rate)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY.total_seconds())
            await self.beat()


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Deployment(bot))
