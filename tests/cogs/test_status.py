"""/status: what an admin sees about the bot's health, and who may use it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest

from ainews import __version__
from ainews.settings import SAMPLE_CORPUS
from discord_sandbox import Permission, SandboxUsageError
from discord_sandbox.sandbox import Sandbox
from tests.helpers import NewsWorld, start_news_bot, write_article_file

NEWEST_TITLE = "Tidal observatory's forecasting model warns of storm surges three days ahead"
NEWEST_AT = datetime(2031, 3, 4, 5, 6, tzinfo=UTC)


def fields_of(embed: dict) -> dict[str, str]:
    return {field["name"]: field["value"] for field in embed["fields"]}


def relative(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:R>"


async def test_status_shows_corpus_rescan_digests_version_and_uptime(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path
) -> None:
    (corpus_dir / "notes-for-curators.md").write_text("Just notes, no front matter.\n")
    write_article_file(
        corpus_dir, "tidal-surge-model", title=NEWEST_TITLE, publishedDateTime=NEWEST_AT
    )

    async with start_news_bot(sandbox, world.settings) as bot:
        subscribed = await sandbox.invoke(
            "digest subscribe",
            member=world.admin,
            channel=world.news,
            options={"topic": "Robotics", "time": "07:30", "timezone": "Europe/Paris"},
        )
        assert subscribed.ephemeral and "now gets" in (subscribed.content or "")
        # A second digest, in a channel where the bot may no longer post: it fails.
        await sandbox.invoke(
            "digest subscribe",
            member=world.admin,
            channel=world.news,
            options={"topic": "AI", "channel": world.other, "time": "23:00"},
        )
        sandbox.set_bot_permissions(world.other, Permission.VIEW_CHANNEL)
        failed = await sandbox.invoke(
            "digest now", member=world.admin, channel=world.news, options={"channel": world.other}
        )
        (answer,) = await failed.wait_for_followups(1)
        assert "could not be delivered" in (answer.content or "")

        result = await sandbox.invoke("status", member=world.admin, channel=world.news)

        assert result.rejections == []
        assert result.ephemeral
        (embed,) = result.embeds
        fields = fields_of(embed)
        assert list(fields) == ["Corpus", "Last rescan", "Digests", "Store", "Processes"]
        assert fields["Processes"].startswith("shards all · beat <t:")
        assert fields["Processes"].endswith("up 0h 0m (this one)")
        assert (
            fields["Store"] == {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[bot.database.engine]
        )

        corpus = fields["Corpus"]
        assert corpus.startswith(f"{await bot.articles.count_active()} articles in ")
        newest = f"Newest: {NEWEST_TITLE} <t:{int(NEWEST_AT.timestamp())}:D>"
        assert corpus.splitlines()[1] == newest

        assert bot.last_rescan is not None and bot.last_rescan_at is not None
        rescan = fields["Last rescan"]
        assert rescan.startswith(relative(bot.last_rescan_at))
        assert f"{bot.last_rescan.ingested} ingested" in rescan
        assert "0 withdrawn" in rescan
        assert "1 rejected" in rescan

        digests = fields["Digests"].splitlines()
        assert digests[0] == "1 active, 1 failing, 0 inactive"
        first = min(
            [
                digest.next_run_at
                for channel in (world.news, world.other)
                if (digest := await bot.digests.get(channel.id)) is not None
            ]
        )
        assert digests[1] == f"Next digest: {relative(first)}"

        assert embed["footer"]["text"] == f"ai-news-bot {__version__} · up 0h 0m"

        # Uptime is counted from the start, in hours and minutes.
        status = bot.get_cog("StatusCommands")
        assert status is not None
        status.started -= 2 * 3600 + 5 * 60 + 59  # type: ignore[attr-defined]
        later = await sandbox.invoke("status", member=world.admin, channel=world.news)
        assert later.embeds[0]["footer"]["text"].endswith(" · up 2h 5m")


async def test_status_before_any_digest_says_none_are_scheduled(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    async with start_news_bot(sandbox, world.settings):
        result = await sandbox.invoke("status", member=world.admin, channel=world.news)
    fields = fields_of(result.embeds[0])
    assert fields["Digests"] == "0 active, 0 failing, 0 inactive"
    assert "0 rejected" in fields["Last rescan"]


async def test_a_member_without_manage_server_cannot_use_status(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    async with start_news_bot(sandbox, world.settings):
        (registered,) = [
            c for c in sandbox.registered_commands(world.guild) if c["name"] == "status"
        ]
        assert int(registered["default_member_permissions"]) == Permission.MANAGE_GUILD
        with pytest.raises(SandboxUsageError, match="lacks the default permissions of /status"):
            await sandbox.invoke("status", member=world.reader, channel=world.news)
        allowed = await sandbox.invoke("status", member=world.admin, channel=world.news)
        assert allowed.ephemeral and allowed.embeds


async def test_a_news_dir_that_disappears_is_logged_once_shown_in_status_and_recovers(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with start_news_bot(sandbox, world.settings) as bot:
        watch = bot.get_cog("CorpusWatch")
        assert watch is not None
        served = await bot.articles.count_active()
        moved = corpus_dir.with_name("corpus-moved")
        corpus_dir.rename(moved)
        caplog.clear()

        for _ in range(3):
            await watch.rescan()  # type: ignore[attr-defined]

        failures = [r for r in caplog.records if "rescan" in r.getMessage()]
        assert [r.getMessage() for r in failures] == [
            f"rescan failed: NEWS_DIR cannot read {corpus_dir}: No such file or directory; "
            "still serving the articles indexed before, trying again every 300 s"
        ]
        assert all(r.exc_info is None and r.exc_text is None for r in caplog.records)
        assert await bot.articles.count_active() == served, "nothing withdrawn"

        result = await sandbox.invoke("status", member=world.admin, channel=world.news)
        rescan = fields_of(result.embeds[0])["Last rescan"]
        problem = f"NEWS_DIR cannot read {corpus_dir}: No such file or directory"
        assert rescan.startswith(f"⚠️ **Failing**: {discord.utils.escape_markdown(problem)}.")
        assert "Last that worked: <t:" in rescan
        assert "Traceback" not in rescan

        moved.rename(corpus_dir)
        caplog.clear()
        caplog.set_level(logging.INFO, logger="ainews")
        await watch.rescan()  # type: ignore[attr-defined]
        await watch.rescan()  # type: ignore[attr-defined]

        messages = [r.getMessage() for r in caplog.records if "rescan" in r.getMessage()]
        assert messages[0] == (
            f"rescans of {corpus_dir} work again (they failed: NEWS_DIR cannot read "
            f"{corpus_dir}: No such file or directory)"
        )
        assert [m for m in messages if "again" in m] == [messages[0]]
        healthy = await sandbox.invoke("status", member=world.admin, channel=world.news)
        assert "Failing" not in fields_of(healthy.embeds[0])["Last rescan"]


async def test_the_bundled_sample_corpus_is_shown_in_status(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    """(``ainews run`` also logs a warning at start: see test_bot_lifecycle.)"""
    on_sample = replace(world.settings, news_dir=SAMPLE_CORPUS)
    async with start_news_bot(sandbox, on_sample):
        result = await sandbox.invoke("status", member=world.admin, channel=world.news)

    corpus = fields_of(result.embeds[0])["Corpus"]
    assert corpus.startswith("⚠️ **The bundled sample corpus** (fictional articles)")
    assert "NEWS_DIR is not set" in corpus


async def test_a_real_corpus_gets_no_sample_warning(sandbox: Sandbox, world: NewsWorld) -> None:
    async with start_news_bot(sandbox, world.settings):
        result = await sandbox.invoke("status", member=world.admin, channel=world.news)

    assert "sample corpus" not in fields_of(result.embeds[0])["Corpus"]
