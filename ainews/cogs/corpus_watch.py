"""Keeps the index in step with NEWS_DIR: a scan at start, then every NEWS_RESCAN_SECONDS; after
a rescan that changed articles, recent digest messages are edited to show their current cards.

Scanning runs in a thread and parsing in worker processes (see :mod:`ainews.ingest`), so the event
loop keeps answering commands during a rescan. A failing scan (NEWS_DIR gone, disk error) never
stops the bot: the articles indexed so far are still served, the scan is tried again at the next
interval, and the log gets one line when scans start failing (or fail for another reason) and one
when they work again, not one per rescan. ``/status`` shows the failure meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from discord.ext import commands, tasks

from ainews.corpus.scan import CorpusPathError
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
        task = self.rescan.get_task()
        if task is not None and not task.done():
            # A cancelled ingest finishes saving the group of files under way: wait for it, so
            # the database is not closed under it when the bot stops.
            await asyncio.wait({task})

    @tasks.loop(seconds=300)
    async def rescan(self) -> None:
        await rescan_corpus(self.bot)


async def rescan_corpus(bot: NewsBot) -> None:
    """One scan of NEWS_DIR into the store; never raises. Why it failed, in one line, is kept in
    ``bot.rescan_problem`` (None once it works again) and logged only when it changes."""
    known_problem = bot.rescan_problem
    bot.rescan_problem = await _rescan(bot, known_problem)


async def _rescan(bot: NewsBot, known_problem: str | None) -> str | None:
    try:
        report = await ingest_corpus(bot.articles, bot.settings.news_dir)
    except CorpusPathError as error:  # NEWS_DIR gone or unreadable: expected, one line
        problem = f"NEWS_DIR {error}"
        if problem != known_problem:
            log.error(
                "rescan failed: %s; still serving the articles indexed before, trying again "
                "every %d s",
                problem,
                bot.settings.news_rescan_seconds,
            )
        return problem
    except Exception as error:
        problem = f"{type(error).__name__}: {error}"
        if problem != known_problem:
            log.exception("rescan of %s failed; will try again", bot.settings.news_dir)
        return problem
    finally:
        bot.corpus_ready.set()
    if known_problem is not None:
        log.info("rescans of %s work again (they failed: %s)", report.root, known_problem)
    bot.last_rescan, bot.last_rescan_at = report, bot.clock()
    if report.ingested or report.withdrawn:
        bot.catalog.forget_cached_topics()
    if report.ingested:
        try:
            await bot.deliverer.edit_changed_cards()
        except Exception:
            log.exception("editing changed cards failed; will try again after the next rescan")
    # Each rejected file once: rejections an earlier rescan logged are only counted below.
    for rejection in [r for r in report.rejected if not r.reported_before][:20]:
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
    return None


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(CorpusWatch(bot))
