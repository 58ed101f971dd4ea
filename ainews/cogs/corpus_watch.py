"""Keeps the index in step with NEWS_DIR: a scan at start, a rescan a moment after files change
(file-system notifications, with NEWS_WATCH), and one every NEWS_RESCAN_SECONDS as the safety net
(network file systems, missed notifications); after a rescan that changed articles, recent digest
messages are edited to show their current cards.

Rescans run one at a time. Changes are gathered until the folder has been quiet for
:data:`QUIET_MS` (at most :data:`GATHER_MS`), so a tool rewriting hundreds of files causes one
rescan; changes that arrive while a rescan runs cause one more after it. Only changes to article
files (``*.md``, ``*.markdown``, not hidden: editors' swap, backup and lock files are not) and to
folders count. Watching runs in a thread of its own (watchfiles, which uses inotify on Linux): it
walks the folder tree as it starts. If it cannot watch (NEWS_DIR missing, inotify limits), it logs
one line and is tried again after the next periodic rescan that works; if NEWS_DIR itself is
moved or deleted, it watches the folder found in its place, if any.

Scanning runs in a thread and parsing in worker processes (see :mod:`ainews.ingest`), so the event
loop keeps answering commands during a rescan. A failing scan (NEWS_DIR gone, disk error) never
stops the bot: the articles indexed so far are still served, the scan is tried again at the next
interval, and the log gets one line when scans start failing (or fail for another reason) and one
when they work again, not one per rescan. ``/status`` shows the failure meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import watchfiles
from discord.ext import commands, tasks

from ainews.corpus.scan import CorpusPathError, is_article_file_name
from ainews.ingest import IngestBusy, ingest_corpus

if TYPE_CHECKING:
    from ainews.app import NewsBot

log = logging.getLogger(__name__)

#: How long NEWS_DIR must be quiet before gathered changes cause a rescan (milliseconds).
QUIET_MS = 300
#: How long changes are gathered at most while they keep coming: a change reaches the index
#: within about 2 s even while a tool keeps writing.
GATHER_MS = 1_200
#: How often the watching thread wakes while nothing changes (which tells it is watching).
IDLE_MS = 1_000


class CorpusWatch(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.rescan.change_interval(seconds=bot.settings.news_rescan_seconds)
        self._changed = asyncio.Event()
        self._stop_watching = threading.Event()
        self._watch_thread = ThreadPoolExecutor(1, thread_name_prefix="ainews-watch")
        self._watching: asyncio.Task[None] | None = None
        self._rescanning_on_change: asyncio.Task[None] | None = None
        #: Set while NEWS_DIR is watched: the watches are in place, changes from now on count.
        self.watching = asyncio.Event()
        #: Why watching failed, as last logged; None while it works (or was never tried).
        self.watch_problem: str | None = None
        self._announced = False

    async def cog_load(self) -> None:
        self.rescan.start()
        if self.bot.settings.news_watch:
            if self.bot.settings.log_level != "DEBUG":  # its "N changes detected" doubles ours
                logging.getLogger("watchfiles").setLevel(logging.WARNING)
            self._rescanning_on_change = asyncio.create_task(
                self._rescan_on_changes(), name="ainews-rescan-on-change"
            )
            self._start_watching()

    async def cog_unload(self) -> None:
        self.rescan.cancel()
        self._stop_watching.set()  # the watching thread returns within QUIET_MS
        if self._rescanning_on_change is not None:
            self._rescanning_on_change.cancel()
        running = {
            task
            for task in (self.rescan.get_task(), self._rescanning_on_change, self._watching)
            if task is not None and not task.done()
        }
        if running:
            # A cancelled ingest finishes saving the group of files under way: wait for it, so
            # the database is not closed under it when the bot stops.
            await asyncio.wait(running)
        self._watch_thread.shutdown()

    @tasks.loop(seconds=300)
    async def rescan(self) -> None:
        await rescan_corpus(self.bot)
        watching_stopped = self._watching is not None and self._watching.done()
        if watching_stopped and self.bot.rescan_problem is None:
            self._start_watching()  # it failed (or NEWS_DIR went): NEWS_DIR works again

    def _start_watching(self) -> None:
        self._watching = asyncio.create_task(self._watch(), name="ainews-watch")

    async def _watch(self) -> None:
        """Watch NEWS_DIR until the cog unloads, or until watching fails."""
        loop = asyncio.get_running_loop()
        while not self._stop_watching.is_set():
            try:
                await loop.run_in_executor(self._watch_thread, self._watch_folder, loop)
            except Exception as error:  # NEWS_DIR missing, inotify limits, ...
                self.watching.clear()
                problem = (
                    error.strerror
                    if isinstance(error, OSError) and error.strerror
                    else f"{type(error).__name__}: {error}"
                )
                if problem != self.watch_problem:
                    log.warning(
                        "not watching %s for changes (%s); the rescan every %d s picks them up",
                        self.bot.settings.news_dir,
                        problem,
                        self.bot.settings.news_rescan_seconds,
                    )
                self.watch_problem = problem
                return
            self.watching.clear()
            # Stopped, or NEWS_DIR itself was moved or deleted: watch what is there now.

    def _watch_folder(self, loop: asyncio.AbstractEventLoop) -> None:
        """In the watching thread: ask for a rescan after each batch of changes; return when
        the cog unloads or NEWS_DIR itself goes."""
        root = os.path.abspath(self.bot.settings.news_dir)
        # Missing or unreadable subfolders are skipped (ignore_permission_denied), and so would
        # NEWS_DIR itself be, silently: look first.
        with os.scandir(root):
            pass
        started = False
        for changes in watchfiles.watch(
            root,
            watch_filter=ArticleChanges(root),
            step=QUIET_MS,
            debounce=GATHER_MS,
            stop_event=self._stop_watching,
            rust_timeout=IDLE_MS,
            yield_on_timeout=True,  # an empty batch, the first of which says it is watching
            raise_interrupt=False,
            ignore_permission_denied=True,
        ):
            if not started:
                started = True
                loop.call_soon_threadsafe(self._watch_started)
            if changes:
                loop.call_soon_threadsafe(self._changed.set)
                if any(path == root for _, path in changes):
                    return

    def _watch_started(self) -> None:
        if self.watch_problem is not None:
            log.info("watching %s for changes again", self.bot.settings.news_dir)
        elif not self._announced:
            log.info("watching %s for changes", self.bot.settings.news_dir)
        self._announced = True
        self.watch_problem = None
        self.watching.set()

    async def _rescan_on_changes(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()  # what changes from here on causes one more rescan
            await rescan_corpus(self.bot)


class ArticleChanges:
    """Which changes under ``root`` may change the index: article files and folders (a folder
    moved in or out brings its files without events of their own), not hidden ones (the scan
    skips them, as it skips editors' swap, backup and lock files), and ``root`` itself going."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.prefix = root.rstrip(os.sep) + os.sep

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if path == self.root:
            return change == watchfiles.Change.deleted
        if not path.startswith(self.prefix):
            return False
        parts = path[len(self.prefix) :].split(os.sep)
        if any(part.startswith(".") for part in parts):
            return False
        name = parts[-1]
        if is_article_file_name(name):
            return True
        if change == watchfiles.Change.deleted:
            return "." not in name  # gone, so no telling: a name without a suffix, as folders have
        return os.path.isdir(path)


async def rescan_corpus(bot: NewsBot) -> None:
    """One scan of NEWS_DIR into the store, after any under way; never raises. Why it failed, in
    one line, is kept in ``bot.rescan_problem`` (None once it works again) and logged only when
    it changes."""
    async with bot.rescan_lock:
        bot.rescan_count += 1
        known_problem = bot.rescan_problem
        bot.rescan_problem = await _rescan(bot, known_problem)


async def _rescan(bot: NewsBot, known_problem: str | None) -> str | None:
    try:
        report = await ingest_corpus(bot.articles, bot.settings.news_dir, wait=False)
    except IngestBusy:
        # Another process of this deployment is indexing NEWS_DIR into the shared store: its
        # changes show here too (topic counts are read again).
        log.info("rescan skipped: another process is indexing %s", bot.settings.news_dir)
        bot.catalog.forget_cached_topics()
        return known_problem
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
    # On PostgreSQL other processes may have indexed changes this rescan then found done.
    if report.ingested or report.withdrawn or bot.database.engine == "postgresql":
        bot.catalog.forget_cached_topics()
    if report.ingested:
        bot.deliverer.wake()  # digest messages whose cards changed are edited by the scheduler
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
