"""Announcement channels: publishing (crossposting) and its hourly limit per channel."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from discord_sandbox import ChannelType, Permission, RateLimits, Sandbox, SandboxConfig, run_client
from discord_sandbox.ratelimit import CROSSPOST_ROUTE, RateLimiter

MANY_MESSAGES = SandboxConfig(rate_limits=RateLimits(channel_messages_limit=50))


async def test_a_message_of_an_announcement_channel_is_published_once(
    sandbox: Sandbox, world, bot
) -> None:
    announcements = sandbox.create_channel(
        world.guild, "announcements", type=ChannelType.ANNOUNCEMENT
    )
    async with run_client(sandbox, bot):
        channel = bot.get_channel(announcements.id)
        assert isinstance(channel, discord.TextChannel) and channel.is_news()
        message = await channel.send("Digest")
        await message.publish()
        with pytest.raises(discord.HTTPException) as twice:
            await message.publish()
        fetched = await channel.fetch_message(message.id)
    assert sandbox.crossposts(announcements) == sandbox.channel_messages(announcements)
    assert fetched.flags.crossposted
    assert twice.value.status == 400 and twice.value.code == 40033


async def test_publishing_outside_an_announcement_channel_is_refused(
    sandbox: Sandbox, world, bot
) -> None:
    async with run_client(sandbox, bot):
        message = await bot.get_channel(world.news.id).send("Digest")
        with pytest.raises(discord.HTTPException) as refused:
            await message.publish()
    assert refused.value.status == 400 and refused.value.code == 50024
    assert sandbox.crossposts(world.news) == []


async def test_publishing_needs_send_messages(sandbox: Sandbox, world, bot) -> None:
    announcements = sandbox.create_channel(
        world.guild, "announcements", type=ChannelType.ANNOUNCEMENT
    )
    async with run_client(sandbox, bot):
        message = await bot.get_channel(announcements.id).send("Digest")
        sandbox.set_bot_permissions(announcements, Permission.VIEW_CHANNEL)
        with pytest.raises(discord.Forbidden) as refused:
            await message.publish()
    assert refused.value.code == 50013


@pytest.mark.parametrize("sandbox_config", [MANY_MESSAGES])
async def test_the_eleventh_publish_within_an_hour_is_rate_limited(
    sandbox: Sandbox, world, bot
) -> None:
    announcements = sandbox.create_channel(
        world.guild, "announcements", type=ChannelType.ANNOUNCEMENT
    )
    other = sandbox.create_channel(world.guild, "more", type=ChannelType.ANNOUNCEMENT)
    bot.http.max_ratelimit_timeout = 30.0  # raise rather than sleep for the hour and retry
    async with run_client(sandbox, bot):
        channel = bot.get_channel(announcements.id)
        messages = [await channel.send(f"Digest {n}") for n in range(12)]
        for message in messages[:10]:
            await message.publish()
        with pytest.raises(discord.RateLimited) as refused:
            await messages[10].publish()
        path = f"/channels/{announcements.id}/messages/{messages[11].id}/crosspost"
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                sandbox.api_base + path, headers={"Authorization": f"Bot {sandbox.token}"}
            ) as answer,
        ):
            status, body, headers = answer.status, await answer.json(), answer.headers
        elsewhere = await bot.get_channel(other.id).send("Digest")
        await elsewhere.publish()  # the limit is per channel
    assert refused.value.retry_after > 3500
    assert status == 429 and body["global"] is False and body["retry_after"] > 3500
    # The route's own bucket has room: the hourly limit shows only as a "shared" 429.
    assert headers["X-RateLimit-Scope"] == "shared" and int(headers["Retry-After"]) > 3500
    assert int(headers["X-RateLimit-Remaining"]) > 0
    assert len(sandbox.crossposts(announcements)) == 10
    assert sandbox.crossposts(other) == sandbox.channel_messages(other)
    assert sandbox.counters.rate_limited == 2


def test_the_publish_limit_refills_after_the_window() -> None:
    now = [100.0]
    limiter = RateLimiter(RateLimits(crosspost_limit=2), lambda: now[0])
    assert limiter.check(CROSSPOST_ROUTE, "1", "token").retry_after is None
    assert limiter.check(CROSSPOST_ROUTE, "1", "token").retry_after is None
    refused = limiter.check(CROSSPOST_ROUTE, "1", "token")
    assert refused.retry_after == 3600.0 and refused.headers["X-RateLimit-Scope"] == "shared"
    assert limiter.check(CROSSPOST_ROUTE, "2", "token").retry_after is None  # per channel
    now[0] += 3600
    assert limiter.check(CROSSPOST_ROUTE, "1", "token").retry_after is None
