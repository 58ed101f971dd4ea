"""Keeps the index in step with NEWS_DIR: a scan at start, then every NEWS_RESCAN_SECONDS; after
a rescan that changed articles, recent digest messages are edited to show their current cards.

Scanning runs in a thread and parsing in worker processes (see :mod:`ainews.ingest`), so the event
loop keeps answering commands during a rescan. A failing scan (NEWS_DIR gone, disk error) is
logged and tried again at the next interval; it never stops the bot.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from discord.ext import commands, tasks

from ainews.ingest import ingest_corpus

if TYPE_CHECKING:
    from ainews.app import NewsBot

log = logging.getLogger(__name__)


class CorpusWatch(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.rescan.change_interval(seconds=bot.settings.news_rescan_seconds)

    async def cog_load(self) -> None:
        self.rescan.start()

    async def cog_unload(self) -> None:
        self.rescan.cancel()

    @tasks.loop(seconds=300)
    async def rescan(self) -> None:
        await rescan_corpus(self.bot)


async def rescan_corpus(bot: NewsBot) -> None:
    """One scan of NEWS_DIR into the store; logs the outcome and never raises."""
    try:
        report = await ingest_corpus(bot.articles, bot.settings.news_dir)
    except Exception:
        log.exception("rescan of %s failed; will try again", bot.settings.news_dir)
        return
    finally:
        bot.corpus_ready.set()
    bot.last_rescan, bot.last_rescan_at = report, bot.clock()
    if report.ingested or report.withdrawn:
        bot.catalog.forget_cached_topics()
    if report.ingested:
        try:
            await bot.deliverer.edit_changed_cards()
        except Exception:
            log.exception("editing changed cards failed; will try again after the next rescan")
    for rejection in report.rejected[:20]:
        log.warning("rejected %s: %s", rejection.path, rejection.reason)
    log.info(
        "rescan of %s: %d ingested, %d unchanged, %d withdrawn, %d rejected in %.2f s",
        report.root,
        report.ingested,
        report.unchanged,
        report.withdrawn,
        len(report.rejected),
        report.seconds,
    )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(CorpusWatch(bot))
