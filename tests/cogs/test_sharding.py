"""SHARD_COUNT and SHARD_IDS: the bot runs as discord.py's AutoShardedBot over the shards it
holds, and answers commands and delivers digests for their servers. (Several processes over one
PostgreSQL store are the subject of the scaling-out tests.)"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path

import pytest
from discord.ext import commands

from ainews.cogs.corpus_watch import rescan_corpus
from ainews.pacing import DIGEST_REQUESTS_PER_SECOND
from ainews.sharding import Shards, shard_of
from discord_sandbox.config import SandboxConfig
from discord_sandbox.sandbox import Sandbox
from tests.helpers import NewsWorld, digest_command, eventually, start_news_bot, write_long_articles


async def test_with_shard_count_the_bot_is_sharded_and_answers_commands(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    settings = dataclasses.replace(world.settings, shards=Shards(1, (0,)))

    async with start_news_bot(sandbox, settings) as bot:
        result = await sandbox.invoke(
            "news", member=world.reader, channel=world.news, options={"topic": "Robotics"}
        )
        if result.original is not None and result.original.loading:
            await result.wait_for_deferred()

        assert isinstance(bot, commands.AutoShardedBot)
        assert bot.shard_count == 1 and bot.shard_ids == [0]
        assert result.embeds and not result.ephemeral
        assert bot.deliverer.shards == Shards(1, (0,))


@pytest.mark.postgresql_only  # several processes share a PostgreSQL store; a SQLite file has one
async def test_processes_starting_together_sync_the_commands_once(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    """Three processes of one deployment (one store) start at once: one syncs the commands,
    the others find them synced."""
    async with contextlib.AsyncExitStack() as processes:
        await asyncio.gather(
            *(processes.enter_async_context(start_news_bot(sandbox, world.settings)) for _ in "abc")
        )

    assert sandbox.sync_count(world.guild) == 1


@pytest.mark.postgresql_only
async def test_live_processes_share_the_rate_budget_and_are_listed_in_status(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    """Two processes of one deployment: each paces digests at half the bot's budget, /status
    lists both with their shards; when one stops, the other takes the whole budget again."""
    first_settings = dataclasses.replace(world.settings, shards=Shards(2, (0,)))
    second_settings = dataclasses.replace(world.settings, shards=Shards(2, (1,)))
    async with start_news_bot(sandbox, first_settings) as first:
        async with start_news_bot(sandbox, second_settings) as second:
            # The second sends no digest until the first has slowed to its new share.
            assert first.rate_share_settled.is_set() and not second.rate_share_settled.is_set()
            await first.get_cog("Deployment").beat()  # type: ignore[union-attr]

            assert (
                first.deliverer.pacer.rate
                == second.deliverer.pacer.rate
                == (DIGEST_REQUESTS_PER_SECOND / 2)
            )
            status = await sandbox.invoke("status", member=world.admin, channel=world.news)
            holder = first if shard_of(world.guild.id, 2) == 0 else second
            (embed,) = status.embeds
            processes = next(f["value"] for f in embed["fields"] if f["name"] == "Processes")
            assert processes.count("\n") == 1, processes
            assert "shards 0 of 2" in processes and "shards 1 of 2" in processes
            assert "(this one)" in processes
            assert holder.shard_ids == [shard_of(world.guild.id, 2)]

        await first.get_cog("Deployment").beat()  # type: ignore[union-attr]
        assert first.deliverer.pacer.rate == DIGEST_REQUESTS_PER_SECOND


@pytest.mark.postgresql_only
async def test_a_changed_card_is_edited_once_by_one_of_the_processes(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path
) -> None:
    write_long_articles(corpus_dir, 2)
    first_settings = dataclasses.replace(world.settings, shards=Shards(2, (0,)))
    second_settings = dataclasses.replace(world.settings, shards=Shards(2, (1,)))
    async with (
        start_news_bot(sandbox, first_settings) as first,
        start_news_bot(sandbox, second_settings) as second,
    ):
        await digest_command(sandbox, world, "subscribe", topic="Deep Dives", max_items=2)
        sent = await digest_command(sandbox, world, "now")
        if not sent.followups:
            await sent.wait_for_followups(1, within=15)
        (message,) = sandbox.channel_messages(world.news)
        path = next((corpus_dir / "deep").iterdir())
        old_title = path.read_text(encoding="utf-8").split('title: "', 1)[1].split('"', 1)[0]
        path.write_text(path.read_text(encoding="utf-8").replace(old_title, "A rewritten title"))

        await asyncio.wait_for(second.rate_share_settled.wait(), 10)  # its scheduler runs
        await rescan_corpus(first)
        second.deliverer.wake()  # both schedulers look at the changed cards at once
        first.deliverer.wake()
        await eventually(
            lambda: any(e["title"] == "A rewritten title" for e in message.embeds), within=20
        )
        await asyncio.sleep(1)

    edits = sandbox.counters.requests["PATCH /channels/{channel_id}/messages/{message_id}"]
    assert edits == 1


@pytest.mark.parametrize(
    "sandbox_config", [SandboxConfig(recommended_shards=2, identify_window=0.0)]
)
async def test_without_shard_count_the_bot_takes_as_many_shards_as_discord_recommends(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    other = sandbox.create_guild("Other shard")
    while shard_of(other.id, 2) == shard_of(world.guild.id, 2):
        other = sandbox.create_guild("Other shard")
    assert world.settings.shards is None

    async with start_news_bot(sandbox, world.settings) as bot:
        assert isinstance(bot, commands.AutoShardedBot)
        assert bot.shard_count == 2
        assert {guild.id for guild in bot.guilds} >= {world.guild.id, other.id}
        assert bot.deliverer.shards is None, "one process delivers every server's digests"
