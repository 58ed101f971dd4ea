"""Login, command sync, the gateway life cycle and guild/channel events, with real discord.py."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from ainews.discord_endpoints import current_discord_endpoints
from discord_sandbox import Permission, Sandbox, SandboxConfig, run_client


async def test_login_ready_and_guild_cache(sandbox: Sandbox, world, bot) -> None:
    quiet = sandbox.create_channel(world.guild, "quiet", bot_permissions=Permission.VIEW_CHANNEL)
    before = current_discord_endpoints()
    async with run_client(sandbox, bot):
        assert current_discord_endpoints() == (sandbox.api_base, sandbox.gateway_url)
        assert bot.user is not None and bot.user.id == sandbox.bot_user.id
        assert bot.application_id == sandbox.application.id
        guild = bot.get_guild(world.guild.id)
        assert guild is not None and guild.me is not None
        assert guild.owner_id == world.guild.owner_id
        news, silent = guild.get_channel(world.news.id), guild.get_channel(quiet.id)
        assert isinstance(news, discord.TextChannel) and isinstance(silent, discord.TextChannel)
        assert news.permissions_for(guild.me).send_messages
        assert not silent.permissions_for(guild.me).send_messages
        assert bot.latency < 1
    assert current_discord_endpoints() == before
    assert sandbox.counters.requests["GET /users/@me"] == 1
    assert sandbox.counters.requests["GET /oauth2/applications/@me"] == 1
    assert sandbox.counters.identifies == 1


async def test_wrong_token_is_a_login_failure_and_an_invalid_request(sandbox: Sandbox, bot) -> None:
    with pytest.raises(discord.LoginFailure):
        async with run_client(sandbox, bot, token="not-the-token"):
            pass
    assert sandbox.counters.statuses[401] == 1
    assert sandbox.counters.invalid_requests == 1


async def test_every_json_answer_is_exactly_application_json(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bot {sandbox.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for path in ("/users/@me", "/channels/1", "/no/such/route"):
            async with http.get(sandbox.api_base + path) as response:
                assert response.headers["Content-Type"] == "application/json"
                assert isinstance(await response.json(), dict)


async def test_global_and_guild_command_sync(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        synced = await bot.tree.sync()
        assert {c.name for c in synced} == {"digest", "news", "slow", "echo"}
        assert all(c.id and c.application_id == sandbox.application.id for c in synced)
        guild = discord.Object(world.guild.id)
        bot.tree.copy_global_to(guild=guild)
        await bot.tree.sync(guild=guild)
        await bot.tree.sync(guild=guild)
        fetched = await bot.tree.fetch_commands(guild=guild)
        assert {c.name for c in fetched} == {"digest", "news", "slow", "echo"}
        again = await bot.tree.sync()
        assert [c.id for c in again] == [c.id for c in synced]  # ids survive a re-sync
    assert sandbox.sync_count() == 2
    assert sandbox.sync_count(world.guild) == 2
    digest = next(c for c in sandbox.registered_commands(world.guild) if c["name"] == "digest")
    assert digest["default_member_permissions"] == str(Permission.MANAGE_GUILD.value)
    assert digest["guild_id"] == str(world.guild.id)


async def test_a_dropped_connection_resumes_and_replays_missed_events(
    sandbox: Sandbox, world, bot
) -> None:
    async with run_client(sandbox, bot):
        resumed = bot.wait_for("resumed", timeout=5)
        await sandbox.drop_gateway()
        late = sandbox.create_channel(world.guild, "created-while-offline")
        await resumed
        # Missed events are replayed before RESUMED, so the channel is already cached.
        assert isinstance(bot.get_channel(late.id), discord.TextChannel)
    assert sandbox.counters.resumes == 1
    assert sandbox.counters.identifies == 1


QUICK_REIDENTIFY = SandboxConfig(identify_window=0.0)
"""The test bot re-identifies at once (no 5 s ``before_identify_hook``), so the sandbox must not
hold it to Discord's one IDENTIFY per 5 s (which test_sandbox_sharding covers)."""


@pytest.mark.parametrize("sandbox_config", [QUICK_REIDENTIFY])
async def test_a_resume_of_a_lost_session_is_refused_and_the_client_identifies(
    sandbox: Sandbox, world, bot
) -> None:
    async with run_client(sandbox, bot):
        ready_again = bot.wait_for("ready", timeout=5)
        await sandbox.drop_gateway(forget_session=True)
        await ready_again
        assert bot.get_guild(world.guild.id) is not None
    assert sandbox.counters.identifies == 2
    assert sandbox.counters.resumes == 0


@pytest.mark.parametrize("sandbox_config", [QUICK_REIDENTIFY])
@pytest.mark.parametrize("resumable", [False, True])
async def test_invalid_session(sandbox: Sandbox, world, bot, resumable: bool) -> None:
    async with run_client(sandbox, bot):
        back = bot.wait_for("resumed" if resumable else "ready", timeout=5)
        await sandbox.invalidate_session(resumable=resumable)
        await back
    assert sandbox.counters.identifies == (1 if resumable else 2)
    assert sandbox.counters.resumes == (1 if resumable else 0)


async def test_channel_deletion_and_bot_removal_reach_the_bot(sandbox: Sandbox, world, bot) -> None:
    other = sandbox.create_guild("Other")
    elsewhere = sandbox.create_channel(other, "general")
    async with run_client(sandbox, bot):
        deleted = bot.wait_for("guild_channel_delete", timeout=5)
        sandbox.delete_channel(world.news)
        assert (await deleted).id == world.news.id
        with pytest.raises(discord.NotFound) as unknown:
            await bot.http.send_message(world.news.id, params=_text("hello"))
        assert unknown.value.code == 10003

        removed = bot.wait_for("guild_remove", timeout=5)
        sandbox.remove_bot(other)
        assert (await removed).id == other.id
        with pytest.raises(discord.Forbidden) as no_access:
            await bot.http.send_message(elsewhere.id, params=_text("hello"))
        assert no_access.value.code == 50001

        joined = bot.wait_for("guild_join", timeout=5)
        sandbox.add_bot(other)
        assert (await joined).id == other.id

        gone = bot.wait_for("guild_remove", timeout=5)
        sandbox.delete_guild(world.guild)
        assert (await gone).id == world.guild.id
        assert bot.get_guild(world.guild.id) is None


async def test_a_privileged_intent_not_enabled_closes_the_gateway(
    sandbox: Sandbox, make_bot
) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with run_client(sandbox, make_bot(intents)):
            pass


@pytest.mark.parametrize("sandbox_config", [SandboxConfig(privileged_intents=1 << 15)])
async def test_an_enabled_privileged_intent_is_accepted(sandbox: Sandbox, make_bot) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    async with run_client(sandbox, make_bot(intents)) as client:
        assert client.is_ready()


def _text(content: str) -> discord.http.MultipartParameters:
    return discord.http.handle_message_parameters(content=content)
