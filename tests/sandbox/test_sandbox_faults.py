"""Injected faults: latency and server errors on the REST API."""

from __future__ import annotations

import time

import discord
import pytest

from discord_sandbox import Sandbox, run_client

MESSAGES = "/channels/{channel_id}/messages"


async def test_added_latency(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        sandbox.faults.latency = 0.2
        started = time.monotonic()
        await bot.get_channel(world.news.id).send("slow")
        assert time.monotonic() - started >= 0.2


@pytest.mark.slow
async def test_a_500_is_retried_by_discord_py(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        sandbox.faults.fail_next(1, status=500, method="POST", route=MESSAGES)
        sent = await bot.get_channel(world.news.id).send("eventually")  # retried after 1 s
    assert sent.content == "eventually"
    assert sandbox.counters.statuses[500] == 1


async def test_a_503_on_a_matching_route_reaches_the_bot(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        sandbox.faults.fail_next(2, status=503, route=MESSAGES)
        await bot.fetch_channel(world.news.id)  # another route is unaffected
        for _ in range(2):
            with pytest.raises(discord.DiscordServerError):
                await bot.get_channel(world.news.id).send("down")
        await bot.get_channel(world.news.id).send("up again")
    assert [m.content for m in sandbox.channel_messages(world.news)] == ["up again"]
