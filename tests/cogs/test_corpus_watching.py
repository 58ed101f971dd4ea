"""The running bot and its corpus folder: files it must not read, and (with file-system
notifications) changes picked up within seconds, through the sandbox."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
import watchfiles

from ainews.app import NewsBot
from ainews.cogs.corpus_watch import ArticleChanges, CorpusWatch, rescan_corpus
from ainews.settings import Settings
from discord_sandbox.sandbox import Sandbox
from tests.helpers import NewsWorld, eventually, start_news_bot, write_article_file

#: The issue's promise: a change is in the commands within 2 s.
PICKUP_SECONDS = 2.0


def rejections_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("rejected ")]


async def test_a_fifo_in_news_dir_is_logged_once_and_counted_in_status(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ainews")
    pipe = corpus_dir / "pipe.md"
    os.mkfifo(pipe)
    async with start_news_bot(sandbox, world.settings) as bot:
        await rescan_corpus(bot)
        await rescan_corpus(bot)

        assert rejections_logged(caplog) == [
            f"rejected {pipe}: not a regular file but a named pipe (FIFO): skipped"
        ]
        assert bot.last_rescan is not None and len(bot.last_rescan.rejected) == 1
        status = await sandbox.invoke("status", member=world.admin, channel=world.news)
        assert "1 rejected" in str(status.embeds[0])
        latest = await sandbox.invoke("latest", member=world.reader, channel=world.news)
        assert latest.embeds, "the other articles are served"


def watched(settings: Settings) -> Settings:
    """Watching on, and the periodic rescan too far away to be what picks anything up."""
    return replace(settings, news_watch=True, news_rescan_seconds=3600)


def corpus_watch(bot: NewsBot) -> CorpusWatch:
    """The bot's cog (of the module as loaded at its start: extensions load afresh each time)."""
    watch = bot.get_cog("CorpusWatch")
    assert watch is not None and type(watch).__name__ == CorpusWatch.__name__
    return cast(CorpusWatch, watch)


async def watching(bot: NewsBot) -> CorpusWatch:
    watch = corpus_watch(bot)
    await asyncio.wait_for(watch.watching.wait(), 10)
    return watch


async def found_by_search(sandbox: Sandbox, world: NewsWorld, query: str) -> list[str]:
    result = await sandbox.invoke(
        "search",
        member=world.reader,
        channel=world.news,
        options={"query": query, "count": 10, "private": True},
    )
    return [str(embed["title"]) for embed in result.embeds]


@pytest.mark.slow
async def test_a_written_changed_and_deleted_file_reach_the_commands_within_2_s(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path
) -> None:
    async with start_news_bot(sandbox, watched(world.settings)) as bot:
        await watching(bot)
        title = "Diamond quantum sensors read brain signals through the skull"

        path = write_article_file(
            corpus_dir,
            "diamond-quantum-sensors",
            title=title,
            topics=["Quantum Sensing"],
            publishedDateTime=datetime(2027, 1, 5, 8, 0, tzinfo=UTC),
        )
        await eventually(lambda: shown_in_latest(sandbox, world, title), within=PICKUP_SECONDS)

        changed = "Diamond quantum sensors now read signals through a helmet"
        path.write_text(path.read_text(encoding="utf-8").replace(title, changed), encoding="utf-8")
        await eventually(lambda: found_by_search(sandbox, world, "helmet"), within=PICKUP_SECONDS)
        assert await found_by_search(sandbox, world, "diamond") == [changed]

        path.unlink()
        await eventually(lambda: not_found(sandbox, world, "diamond"), within=PICKUP_SECONDS)
        assert bot.last_rescan is not None and bot.last_rescan.withdrawn == 1


async def shown_in_latest(sandbox: Sandbox, world: NewsWorld, title: str) -> bool:
    result = await sandbox.invoke(
        "latest", member=world.reader, channel=world.news, options={"private": True}
    )
    return title in [str(embed["title"]) for embed in result.embeds]


async def not_found(sandbox: Sandbox, world: NewsWorld, query: str) -> bool:
    return not await found_by_search(sandbox, world, query)


@pytest.mark.slow
async def test_a_burst_of_300_files_causes_a_few_rescans_not_300(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path
) -> None:
    async with start_news_bot(sandbox, watched(world.settings)) as bot:
        await watching(bot)
        before, served = bot.rescan_count, await bot.articles.count_active()

        for number in range(300):  # as a curation tool does, one file after another
            write_article_file(corpus_dir, f"burst/article-{number:03d}", topics=["Bursts"])

        async def all_in() -> bool:
            return await bot.articles.count_active() == served + 300

        await eventually(all_in, within=5)
        await asyncio.sleep(1.5)  # any rescan still to come
        assert 1 <= bot.rescan_count - before <= 3
        result = await sandbox.invoke("topics", member=world.reader, channel=world.news)
        assert "Bursts" in str(result.embeds)


@pytest.mark.slow
async def test_editors_temporary_files_and_other_files_cause_no_rescan(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path
) -> None:
    async with start_news_bot(sandbox, watched(world.settings)) as bot:
        await watching(bot)
        before = bot.rescan_count

        (corpus_dir / ".camera-trap-species-model.md.swp").write_text("vim")
        (corpus_dir / "camera-trap-species-model.md~").write_text("backup")
        (corpus_dir / "#camera-trap-species-model.md#").write_text("emacs")
        (corpus_dir / ".drafts").mkdir()
        (corpus_dir / ".drafts" / "draft.md").write_text("hidden")
        (corpus_dir / "notes.txt").write_text("notes")
        (corpus_dir / "notes.txt").unlink()
        await asyncio.sleep(1.5)

        assert bot.rescan_count == before


@pytest.mark.slow
async def test_news_dir_replaced_or_gone_and_back_is_watched_again(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ainews")
    async with start_news_bot(sandbox, watched(world.settings)) as bot:
        watch = await watching(bot)

        # A deploy swaps folders: the new one is watched at once.
        fresh = corpus_dir.with_name("corpus-new")
        fresh.mkdir()
        corpus_dir.rename(corpus_dir.with_name("corpus-old"))
        fresh.rename(corpus_dir)
        await asyncio.sleep(0.5)
        await asyncio.wait_for(watch.watching.wait(), 5)
        write_article_file(corpus_dir, "after-the-swap", title="Swapped in and picked up")
        await eventually(lambda: found_by_search(sandbox, world, "swapped"), within=PICKUP_SECONDS)

        # Gone: one line, and the periodic rescan carries on; back: watched after a rescan.
        corpus_dir.rename(corpus_dir.with_name("corpus-away"))
        await eventually(lambda: watch.watch_problem is not None)
        await watch.rescan()  # type: ignore[attr-defined]
        assert not watch.watching.is_set()
        corpus_dir.with_name("corpus-away").rename(corpus_dir)
        await watch.rescan()  # type: ignore[attr-defined]
        await asyncio.wait_for(watch.watching.wait(), 5)
        write_article_file(corpus_dir, "after-the-return", title="Back and picked up")
        await eventually(lambda: found_by_search(sandbox, world, "back"), within=PICKUP_SECONDS)

    lines = [r.getMessage() for r in caplog.records if "watching" in r.getMessage()]
    assert lines == [
        f"watching {corpus_dir} for changes",
        f"not watching {corpus_dir} for changes (No such file or directory); the rescan every "
        "3600 s picks them up",
        f"watching {corpus_dir} for changes again",
    ]


@pytest.mark.slow
async def test_the_watching_thread_stops_with_the_bot_and_news_watch_false_starts_none(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    async with start_news_bot(sandbox, watched(world.settings)) as bot:
        await watching(bot)
        assert any(t.name.startswith("ainews-watch") for t in threading.enumerate())
    assert not any(t.name.startswith("ainews-watch") for t in threading.enumerate())

    async with start_news_bot(sandbox, world.settings) as bot:  # NEWS_WATCH=false
        watch = corpus_watch(bot)
        await asyncio.sleep(0.2)
        assert not watch.watching.is_set()
        assert not any(t.name.startswith("ainews-watch") for t in threading.enumerate())


def test_changes_that_count_are_to_article_files_and_folders(tmp_path: Path) -> None:
    root = str(tmp_path)
    (tmp_path / "2027").mkdir()
    (tmp_path / "image.png").write_bytes(b"png")
    counts = ArticleChanges(root)
    added, deleted = watchfiles.Change.added, watchfiles.Change.deleted

    assert counts(added, f"{root}/a.md") and counts(deleted, f"{root}/sub/b.MARKDOWN")
    assert counts(added, f"{root}/2027"), "a folder moved in brings files without events"
    assert counts(deleted, f"{root}/2026"), "a folder moved out, likewise"
    assert counts(deleted, root), "NEWS_DIR itself going"
    assert not counts(watchfiles.Change.modified, root), "a chmod of NEWS_DIR changes nothing"
    for ignored in [
        ".a.md.swp",  # vim
        "a.md~",  # backups
        "#a.md#",  # emacs
        ".#a.md",  # emacs lock
        ".git/x.md",
        "drafts/.cache/y.md",
        "image.png",
        "a.md.tmp",
    ]:
        assert not counts(added, f"{root}/{ignored}"), ignored
    assert not counts(deleted, f"{root}/a.md.tmp")
    assert not counts(added, "/elsewhere/a.md")
