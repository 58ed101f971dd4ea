"""Rate limits as discord.py meets them: headers, bucket waits, 429 retries, the global limit."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import discord
import pytest

from discord_sandbox import RateLimits, Sandbox, SandboxConfig, run_client
from discord_sandbox.ratelimit import CHANNEL_MESSAGES_ROUTE, RateLimiter

TIGHT_CHANNEL = SandboxConfig(
    rate_limits=RateLimits(channel_messages_limit=2, channel_messages_window=0.4)
)
SLOW_CHANNEL = SandboxConfig(
    rate_limits=RateLimits(channel_messages_limit=2, channel_messages_window=0.8)
)
TIGHT_GLOBAL = SandboxConfig(rate_limits=RateLimits(global_limit=5, global_window=0.4))
SPENT_GLOBAL = SandboxConfig(rate_limits=RateLimits(global_limit=3, global_window=60))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_buckets_follow_the_injected_clock() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(), clock)
    for remaining in range(4, -1, -1):
        verdict = limiter.check(CHANNEL_MESSAGES_ROUTE, "1", "token")
        assert verdict.retry_after is None
        assert verdict.headers["X-RateLimit-Remaining"] == str(remaining)
    clock.now += 2
    refused = limiter.check(CHANNEL_MESSAGES_ROUTE, "1", "token")
    assert refused.retry_after == 3.0 and refused.body()["global"] is False
    assert limiter.check(CHANNEL_MESSAGES_ROUTE, "2", "token").retry_after is None  # per channel
    clock.now += 3
    assert limiter.check(CHANNEL_MESSAGES_ROUTE, "1", "token").retry_after is None


def test_the_global_limit_is_per_token_and_skips_exempt_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(global_limit=2, global_window=1.0), clock)
    for channel in ("1", "2"):
        assert limiter.check(CHANNEL_MESSAGES_ROUTE, channel, "token").retry_after is None
    refused = limiter.check(CHANNEL_MESSAGES_ROUTE, "3", "token")
    assert refused.is_global and refused.headers["X-RateLimit-Global"] == "true"
    assert limiter.check(CHANNEL_MESSAGES_ROUTE, "3", None).retry_after is None  # exempt
    assert limiter.check(CHANNEL_MESSAGES_ROUTE, "4", "other-token").retry_after is None


def _auth(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bot {sandbox.token}"}


async def test_every_answer_carries_rate_limit_headers(sandbox: Sandbox, world) -> None:
    url = f"{sandbox.api_base}/channels/{world.news.id}/messages"
    async with aiohttp.ClientSession(headers=_auth(sandbox)) as http:
        remaining = []
        for _ in range(2):
            async with http.post(url, json={"content": "hi"}) as response:
                assert response.status == 200
                headers = response.headers
                assert headers["X-RateLimit-Limit"] == "5"
                assert float(headers["X-RateLimit-Reset-After"]) <= 5
                assert float(headers["X-RateLimit-Reset"]) > time.time()
                assert headers["X-RateLimit-Bucket"]
                remaining.append(headers["X-RateLimit-Remaining"])
        async with http.get(f"{sandbox.api_base}/channels/{world.news.id}") as response:
            assert "X-RateLimit-Remaining" in response.headers
    assert remaining == ["4", "3"]


@pytest.mark.slow
@pytest.mark.parametrize("sandbox_config", [SLOW_CHANNEL])
async def test_a_429_is_shaped_like_discords_and_discord_py_waits_and_retries(
    sandbox: Sandbox, world, bot
) -> None:
    url = f"{sandbox.api_base}/channels/{world.news.id}/messages"
    async with run_client(sandbox, bot):
        async with aiohttp.ClientSession(headers=_auth(sandbox)) as http:
            for _ in range(2):  # another process with the same token exhausts the bucket
                async with http.post(url, json={"content": "elsewhere"}):
                    pass
            async with http.post(url, json={"content": "one too many"}) as response:
                assert response.status == 429
                body = await response.json()
                assert response.headers["Content-Type"] == "application/json"
                assert response.headers["Via"] and response.headers["Retry-After"] == "1"
                assert response.headers["X-RateLimit-Scope"] == "user"
        assert 0 < body["retry_after"] <= 0.8 and body["global"] is False
        sent = await bot.get_channel(world.news.id).send("from the bot")
    assert sent.content == "from the bot"
    assert sandbox.counters.rate_limited == 2  # the raw one, and the bot's retried one
    assert sandbox.counters.invalid_requests == 2
    assert [m.content for m in sandbox.channel_messages(world.news)][-1] == "from the bot"


@pytest.mark.parametrize("sandbox_config", [TIGHT_CHANNEL])
async def test_discord_py_paces_itself_on_an_exhausted_bucket(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        channel = bot.get_channel(world.news.id)
        started = time.monotonic()
        for number in range(3):
            await channel.send(f"post {number}")
        elapsed = time.monotonic() - started
    assert elapsed >= 0.3  # waited for the window after two posts
    assert sandbox.counters.rate_limited == 0
    assert len(sandbox.channel_messages(world.news)) == 3


@pytest.mark.slow
@pytest.mark.parametrize("sandbox_config", [TIGHT_GLOBAL])
async def test_a_burst_over_many_channels_hits_the_global_limit_and_recovers(
    sandbox: Sandbox, world, bot
) -> None:
    channels = [sandbox.create_channel(world.guild, f"c{n}") for n in range(8)]
    async with run_client(sandbox, bot):
        await asyncio.sleep(0.4)  # a fresh global window after login
        sends = [bot.get_channel(c.id).send("burst") for c in channels]
        await asyncio.gather(*sends)
    assert sandbox.counters.rate_limited >= 1
    assert all(len(sandbox.channel_messages(c)) == 1 for c in channels)


@pytest.mark.parametrize("sandbox_config", [SPENT_GLOBAL])
async def test_interaction_endpoints_are_exempt_from_the_global_limit(
    sandbox: Sandbox, world, bot
) -> None:
    async with run_client(sandbox, bot):  # login spends 2 of the 3
        bot.tree.copy_global_to(guild=discord.Object(world.guild.id))
        await bot.tree.sync(guild=discord.Object(world.guild.id))  # the 3rd
        async with (
            aiohttp.ClientSession(headers=_auth(sandbox)) as http,
            http.get(f"{sandbox.api_base}/users/@me") as response,
        ):
            assert response.status == 429
            assert (await response.json())["global"] is True
            assert response.headers["X-RateLimit-Global"] == "true"
            assert response.headers["X-RateLimit-Scope"] == "global"
        result = await sandbox.invoke("slow", member=world.reader, channel=world.news)
        await result.wait_for_original_edit()
    assert result.content == "Done thinking!"
