"""Sharding as Discord does it, met by discord.py's real ``AutoShardedClient``.

``GET /gateway/bot`` (recommended shards, session start limit), IDENTIFY with
``[shard_id, shard_count]``, each session getting only its shard's guilds, events and
interactions, the IDENTIFY concurrency limit (op 9), 4010 for an invalid shard, 4011 for a shard
over ``max_guilds_per_shard``, and one global rate limit per token across clients.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from discord_sandbox import Channel, Guild, Member, RateLimits, Sandbox, SandboxConfig, run_client
from discord_sandbox.gateway import Session, parse_shard, shard_of

GUILDS = 6
TWO_AT_ONCE = SandboxConfig(max_concurrency=2)
"""Two shards may IDENTIFY in the same 5 s (buckets 0 and 1), as for a bot with
``max_concurrency`` 2: the two clients below start one right after the other."""


class ShardedBot(discord.AutoShardedClient):
    """discord.py's ``AutoShardedClient`` with a ``/where`` command answering which shards this
    client runs, and a record of the guilds it answered in."""

    def __init__(
        self,
        shard_ids: list[int] | None,
        shard_count: int | None = 2,
        *,
        identify_pause: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            intents=discord.Intents.default(),
            shard_count=shard_count,
            shard_ids=shard_ids,
            guild_ready_timeout=0.1,
            **options,
        )
        self.identify_pause = identify_pause
        self.answered: list[int] = []
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="where", description="Which shards answer")
        async def where(interaction: discord.Interaction) -> None:
            assert interaction.guild_id is not None
            self.answered.append(interaction.guild_id)
            await interaction.response.send_message(f"shards {self.shard_ids}")

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # None keeps discord.py's own pause (5 s before every IDENTIFY but the first).
        if self.identify_pause is None:
            await super().before_identify_hook(shard_id, initial=initial)
        elif not initial:
            await asyncio.sleep(self.identify_pause)


@dataclass
class Shards:
    """Six guilds, each with a channel and a reader, and which of two shards holds each."""

    guilds: list[Guild]
    channels: dict[int, Channel]
    readers: dict[int, Member]

    def held_by(self, shard_id: int, shard_count: int = 2) -> set[int]:
        return {g.id for g in self.guilds if shard_of(g.id, shard_count) == shard_id}


@pytest.fixture
def shards(sandbox: Sandbox) -> Shards:
    guilds = [sandbox.create_guild(f"guild-{n}") for n in range(GUILDS)]
    return Shards(
        guilds,
        {g.id: sandbox.create_channel(g, "news") for g in guilds},
        {g.id: sandbox.add_member(g, "reader") for g in guilds},
    )


async def raw_identify(sandbox: Sandbox, shard: object) -> tuple[int | None, Any]:
    """IDENTIFY on a bare websocket: (close code, None) if the gateway closed it, else
    (None, the first frame after HELLO)."""
    async with aiohttp.ClientSession() as http, http.ws_connect(sandbox.gateway_url) as ws:
        await ws.receive_json()  # HELLO
        identify = {"token": sandbox.token, "intents": 1, "shard": shard}
        await ws.send_json({"op": 2, "d": identify})
        message = await ws.receive(timeout=5)
        if message.type is aiohttp.WSMsgType.TEXT:
            return None, json.loads(message.data)
        return ws.close_code, None


def test_shard_of_and_the_shard_field() -> None:
    assert shard_of(5 << 22, 2) == 1 and shard_of(5 << 22, 5) == 0
    assert parse_shard([1, 2]) == (1, 2) and parse_shard([0, 1]) == (0, 1)
    for invalid in ([2, 2], [-1, 2], [0, 0], ["0", 2], [True, 2], [0, 2.0], [0], 3, None):
        assert parse_shard(invalid) is None
    dm = None
    assert Session("a", 0, [0, 3]).holds(dm) and not Session("b", 0, [1, 3]).holds(dm)
    assert Session("c", 0, None).holds(7 << 22)  # no shard in IDENTIFY: [0, 1], everything


def test_recommended_shards_are_one_per_thousand_guilds() -> None:
    config = SandboxConfig()
    assert [config.shards_for(n) for n in (0, 1, 1000, 1001, 2500)] == [1, 1, 1, 2, 3]
    assert SandboxConfig(recommended_shards=4).shards_for(10) == 4


def test_consecutive_guilds_fall_on_consecutive_shards(sandbox: Sandbox, shards: Shards) -> None:
    for count in (2, 3):
        assert [sandbox.shard_of(g, count) for g in shards.guilds[:count]] in (
            [(first + n) % count for n in range(count)] for first in range(count)
        )
    assert len(shards.held_by(0)) == len(shards.held_by(1)) == GUILDS // 2


@pytest.mark.parametrize("sandbox_config", [TWO_AT_ONCE])
async def test_each_client_gets_only_its_shards_guilds_events_and_interactions(
    sandbox: Sandbox, shards: Shards
) -> None:
    first, second = ShardedBot([0]), ShardedBot([1])
    async with run_client(sandbox, first), run_client(sandbox, second):
        assert {g.id for g in first.guilds} == shards.held_by(0)
        assert {g.id for g in second.guilds} == shards.held_by(1)
        assert all(g.shard_id == 0 for g in first.guilds)
        assert sorted(first.shards) == [0] and sorted(second.shards) == [1]
        live = sorted(sandbox.sessions(), key=lambda info: info.shard)
        assert [info.shard for info in live] == [(0, 2), (1, 2)]
        assert [set(info.guild_ids) for info in live] == [shards.held_by(0), shards.held_by(1)]
        assert all(info.connected for info in live)

        await first.tree.sync()
        for guild in shards.guilds:
            holder = sandbox.shard_of(guild, 2)
            result = await sandbox.invoke(
                "where", member=shards.readers[guild.id], channel=shards.channels[guild.id]
            )
            assert result.shards == [(holder, 2)]
            assert result.content == f"shards [{holder}]"
        assert sorted(first.answered) == sorted(shards.held_by(0))
        assert sorted(second.answered) == sorted(shards.held_by(1))

        # Later events of a guild reach only its shard (the session streams are ordered, so
        # once the second client has its own new channel it would have had the first's too).
        on_zero = next(g for g in shards.guilds if g.id in shards.held_by(0))
        on_one = next(g for g in shards.guilds if g.id in shards.held_by(1))
        created = first.wait_for("guild_channel_create", timeout=5)
        late_zero = sandbox.create_channel(on_zero, "late")
        await created
        created = second.wait_for("guild_channel_create", timeout=5)
        late_one = sandbox.create_channel(on_one, "late")
        await created
        assert first.get_channel(late_zero.id) is not None
        assert second.get_channel(late_zero.id) is None
        assert second.get_channel(late_one.id) is not None
        assert first.get_channel(late_one.id) is None
    assert sandbox.counters.identifies_by_shard == Counter({(0, 2): 1, (1, 2): 1})
    assert sandbox.counters.interactions_by_shard == Counter({(0, 2): 3, (1, 2): 3})
    assert sandbox.counters.identify_rate_limited == 0


@pytest.mark.parametrize(
    "sandbox_config", [SandboxConfig(max_concurrency=2, session_start_total=10)]
)
async def test_gateway_bot_recommends_shards_and_counts_session_starts(
    sandbox: Sandbox, shards: Shards
) -> None:
    first, second = ShardedBot([0]), ShardedBot([1])
    async with run_client(sandbox, first), run_client(sandbox, second):
        count, url, limit = await first.http.get_bot_gateway()
        assert count == 1  # six guilds: one shard is what Discord would recommend
        assert url == sandbox.gateway_url
        assert limit["total"] == 10 and limit["remaining"] == 8
        assert limit["max_concurrency"] == 2
        assert 0 < limit["reset_after"] <= 24 * 3600 * 1000
        starts = await second.fetch_session_start_limits()
        assert (starts.remaining, starts.max_concurrency) == (8, 2)


async def test_the_recommended_shard_count_is_configurable() -> None:
    async with Sandbox(SandboxConfig(recommended_shards=3)) as sandbox:
        headers = {"Authorization": f"Bot {sandbox.token}"}
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.get(f"{sandbox.api_base}/gateway/bot") as response,
        ):
            body = await response.json()
    assert body["shards"] == 3
    assert body["session_start_limit"] == {
        "total": 1000,
        "remaining": 1000,
        "reset_after": 0,
        "max_concurrency": 1,
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_session_starts_run_out_and_come_back_after_24_hours() -> None:
    clock = FakeClock()
    async with Sandbox(SandboxConfig(session_start_total=2, clock=clock)) as sandbox:
        for _ in range(2):
            code, frame = await raw_identify(sandbox, [0, 1])
            assert code is None and frame["t"] == "READY"
            clock.now += 6  # past the 5 s IDENTIFY window
        assert sandbox.gateway.session_start_limit()["remaining"] == 0
        assert sandbox.gateway.session_start_limit()["reset_after"] == (24 * 3600 - 12) * 1000
        code, _ = await raw_identify(sandbox, [0, 1])
        assert code == 4004  # Discord resets the token: that IDENTIFY fails authentication
        clock.now += 24 * 3600
        assert sandbox.gateway.session_start_limit()["remaining"] == 2
        code, frame = await raw_identify(sandbox, [0, 1])
        assert code is None and frame["t"] == "READY"
    assert sandbox.counters.identifies == 3


async def test_a_second_identify_in_the_same_bucket_within_5_s_is_an_invalid_session() -> None:
    clock = FakeClock()
    async with Sandbox(SandboxConfig(max_concurrency=2, clock=clock)) as sandbox:
        assert (await raw_identify(sandbox, [0, 4]))[1]["t"] == "READY"
        assert (await raw_identify(sandbox, [1, 4]))[1]["t"] == "READY"  # bucket 1
        refused = (await raw_identify(sandbox, [2, 4]))[1]  # bucket 0 again
        assert refused == {"op": 9, "d": False, "s": None, "t": None}
        clock.now += 5
        assert (await raw_identify(sandbox, [2, 4]))[1]["t"] == "READY"
    assert sandbox.counters.identify_rate_limited == 1
    assert sandbox.counters.identifies == 3


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(identify_window=2.0)])
async def test_a_client_identifying_too_soon_gets_op_9_and_identifies_again(
    sandbox: Sandbox, shards: Shards
) -> None:
    # max_concurrency 1: shards 0 and 1 share a bucket. The second client identifies right
    # after the first, is told its session is invalid, waits (its before_identify_hook) and
    # identifies again, as discord.py does on Discord (there after 5 s).
    first, second = ShardedBot([0]), ShardedBot([1], identify_pause=2.0)
    async with run_client(sandbox, first), run_client(sandbox, second):
        assert {g.id for g in second.guilds} == shards.held_by(1)
    assert sandbox.counters.identify_rate_limited == 1
    assert sandbox.counters.identifies_by_shard == Counter({(0, 2): 1, (1, 2): 1})


@pytest.mark.slow
async def test_one_client_running_both_shards_paces_its_identifies_itself(
    sandbox: Sandbox, shards: Shards
) -> None:
    # Discord's numbers (max_concurrency 1, one IDENTIFY per 5 s): discord.py waits 5 s before
    # the second shard's IDENTIFY, so nothing is refused.
    bot = ShardedBot(None)
    async with run_client(sandbox, bot, ready_timeout=20):
        assert sorted(bot.shards) == [0, 1]
        assert {g.id for g in bot.guilds} == {g.id for g in shards.guilds}
        for guild in bot.guilds:
            assert guild.shard_id == sandbox.shard_of(guild.id, 2)
    assert sandbox.counters.identify_rate_limited == 0
    assert sandbox.counters.identifies_by_shard == Counter({(0, 2): 1, (1, 2): 1})


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(identify_window=0.0)])
async def test_the_same_shard_twice_and_mixed_shard_counts_both_get_events(
    sandbox: Sandbox, shards: Shards
) -> None:
    # Discord lets two sessions hold the same shard, and sessions of different shard counts
    # coexist while a bot reshards: each gets the events of the guilds its shard holds.
    twin_a, twin_b, whole = ShardedBot([0]), ShardedBot([0]), ShardedBot([0], shard_count=1)
    async with run_client(sandbox, twin_a), run_client(sandbox, twin_b), run_client(sandbox, whole):
        assert sorted(info.shard for info in sandbox.sessions()) == [(0, 1), (0, 2), (0, 2)]
        assert len(whole.guilds) == GUILDS
        on_zero = next(g for g in shards.guilds if g.id in shards.held_by(0))
        on_one = next(g for g in shards.guilds if g.id in shards.held_by(1))
        waits = [bot.wait_for("guild_channel_create", timeout=5) for bot in (twin_a, twin_b)]
        everything = whole.wait_for("guild_channel_create", timeout=5)
        late_zero = sandbox.create_channel(on_zero, "late")
        await asyncio.gather(*waits, everything)
        everything = whole.wait_for("guild_channel_create", timeout=5)
        late_one = sandbox.create_channel(on_one, "late")
        await everything
        for bot in (twin_a, twin_b):
            assert bot.get_channel(late_zero.id) is not None
            assert bot.get_channel(late_one.id) is None
        assert whole.get_channel(late_zero.id) and whole.get_channel(late_one.id)
        await twin_a.tree.sync()
        result = await sandbox.invoke(
            "where", member=shards.readers[on_one.id], channel=shards.channels[on_one.id]
        )
        assert result.shards == [(0, 1)] and result.content == "shards [0]"


@pytest.mark.parametrize(
    "sandbox_config", [SandboxConfig(max_guilds_per_shard=2, identify_window=0.0)]
)
async def test_a_shard_over_max_guilds_is_closed_with_4011(
    sandbox: Sandbox, shards: Shards
) -> None:
    with pytest.raises(discord.ConnectionClosed) as closed:
        async with run_client(sandbox, ShardedBot([0])):  # three guilds on shard 0 of 2
            pass
    assert closed.value.code == 4011
    plain = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.1)
    with pytest.raises(discord.ConnectionClosed) as closed:
        async with run_client(sandbox, plain):  # no shard: all six guilds
            pass
    assert closed.value.code == 4011
    async with run_client(sandbox, ShardedBot([0], shard_count=3)) as bot:  # two per shard
        assert {g.id for g in bot.guilds} == shards.held_by(0, 3)
    assert sandbox.counters.identifies == 1


async def test_an_invalid_shard_is_closed_with_4010(sandbox: Sandbox, shards: Shards) -> None:
    with pytest.raises(discord.ConnectionClosed) as closed:
        async with run_client(sandbox, ShardedBot([2])):  # [2, 2]: ids run 0..count-1
            pass
    assert closed.value.code == 4010
    for invalid in ([0, 0], [-1, 2], ["0", 2], [0, 2, 1], "0"):
        code, _ = await raw_identify(sandbox, invalid)
        assert code == 4010
    assert sandbox.counters.identifies == 0


GLOBAL_FIVE = SandboxConfig(
    max_concurrency=2, rate_limits=RateLimits(global_limit=5, global_window=60.0)
)


@pytest.mark.parametrize("sandbox_config", [GLOBAL_FIVE])
async def test_the_global_rate_limit_is_one_per_token_across_clients(
    sandbox: Sandbox, shards: Shards
) -> None:
    # Each client alone spends 3 requests, under the limit of 5; together they trip it, as
    # on Discord, where two processes of one bot share the token's 50 requests per second.
    first = ShardedBot([0], max_ratelimit_timeout=30.0)
    second = ShardedBot([1], max_ratelimit_timeout=30.0)
    async with run_client(sandbox, first), run_client(sandbox, second):
        assert sum(sandbox.counters.requests.values()) == 4  # two logins of two requests
        await first.application_info()
        with pytest.raises(discord.RateLimited) as limited:
            await second.application_info()  # a 60 s global wait: over max_ratelimit_timeout
        assert 50 < limited.value.retry_after <= 60
    assert sandbox.counters.rate_limited == 1
    assert sandbox.counters.requests["GET /oauth2/applications/@me"] == 4
