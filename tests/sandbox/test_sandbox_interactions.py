"""Slash commands, autocomplete, buttons, deferrals and the interaction rules, end to end."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from discord_sandbox import CallbackType, Sandbox, SandboxConfig, SandboxUsageError, run_client

FAST_DEADLINE = SandboxConfig(interaction_deadline=0.3)


async def _synced(sandbox: Sandbox, bot, world) -> None:
    guild = discord.Object(world.guild.id)
    bot.tree.copy_global_to(guild=guild)
    await bot.tree.sync(guild=guild)


async def test_slash_command_with_every_option_type(sandbox: Sandbox, world, bot, seen) -> None:
    digest = sandbox.create_channel(world.guild, "digest")
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        result = await sandbox.invoke(
            "digest subscribe",
            member=world.admin,
            channel=world.news,
            options={"topic": "llm", "count": 3, "images": True, "channel": digest},
        )
    name, received = seen.calls[0]
    assert name == "subscribe"
    assert received["topic"] == "llm" and received["count"] == 3 and received["images"] is True
    assert isinstance(received["channel"], discord.TextChannel)
    assert received["channel"].id == digest.id
    assert result.response_type is CallbackType.CHANNEL_MESSAGE
    assert result.content == f"Subscribed <#{digest.id}> to llm"
    assert result.ephemeral and result.flags & 64
    assert result.response_time is not None and result.response_time < 1
    assert sandbox.channel_messages(world.news) == []  # ephemeral: not in the channel


async def test_subcommand_group(sandbox: Sandbox, world, bot, seen) -> None:
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        result = await sandbox.invoke(
            "digest schedule set", member=world.admin, channel=world.news, options={"hour": 7}
        )
    assert seen.calls == [("schedule set", {"hour": 7})]
    assert result.content == "Digest at 07:00"
    assert not result.ephemeral
    assert [m.content for m in sandbox.channel_messages(world.news)] == ["Digest at 07:00"]


async def test_invocations_a_discord_user_could_not_send_are_refused(
    sandbox: Sandbox, world, bot
) -> None:
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        options = {"topic": "llm", "count": 3, "images": True, "channel": world.news}
        with pytest.raises(SandboxUsageError, match="default permissions"):
            await sandbox.invoke(
                "digest subscribe", member=world.reader, channel=world.news, options=options
            )
        with pytest.raises(SandboxUsageError, match="within"):
            await sandbox.invoke(
                "digest subscribe",
                member=world.admin,
                channel=world.news,
                options=options | {"count": 11},
            )
        with pytest.raises(SandboxUsageError, match="no synced option"):
            await sandbox.invoke(
                "digest subscribe",
                member=world.admin,
                channel=world.news,
                options=options | {"colour": "red"},
            )
        with pytest.raises(SandboxUsageError, match="no synced slash command"):
            await sandbox.invoke("weather", member=world.admin, channel=world.news)


async def test_autocomplete_returns_the_bots_choices(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        result = await sandbox.autocomplete(
            "digest subscribe",
            focused="topic",
            value="o",
            member=world.admin,
            channel=world.news,
        )
    assert result.response_type is CallbackType.AUTOCOMPLETE_RESULT
    assert result.choices == [
        {"name": "robotics", "value": "robotics"},
        {"name": "policy", "value": "policy"},
        {"name": "vision", "value": "vision"},
    ]


async def test_button_click_updates_the_message(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        news = await sandbox.invoke("news", member=world.reader, channel=world.news)
        assert news.embeds[0]["title"] == "Chip news"
        assert news.original is not None
        assert news.original.custom_ids() == ["news:more", "news:ack"]
        click = await sandbox.click(news.original, "news:more", member=world.reader)
    assert click.response_type is CallbackType.UPDATE_MESSAGE
    assert click.original is news.original
    [shown] = sandbox.channel_messages(world.news)
    assert shown.content == "Expanded" and shown.embeds[0]["title"] == "Chip news"
    assert shown.edited_at is not None


async def test_deferred_update_then_edit_of_the_original(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        news = await sandbox.invoke("news", member=world.reader, channel=world.news)
        assert news.original is not None
        click = await sandbox.click(news.original, "news:ack", member=world.reader)
        assert click.response_type is CallbackType.DEFERRED_UPDATE_MESSAGE
        edited = await click.wait_for_original_edit()
    assert edited is news.original
    assert edited.content == "Acknowledged" and edited.components == []


async def test_deferred_response_is_filled_by_the_first_followup(
    sandbox: Sandbox, world, bot
) -> None:
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        result = await sandbox.invoke("slow", member=world.reader, channel=world.news)
        assert result.response_type is CallbackType.DEFERRED_CHANNEL_MESSAGE
        filled = await result.wait_for_deferred()
        assert filled.content == "Done thinking" and not filled.loading
        edited = await result.wait_for_original_edit()
    assert edited.content == "Done thinking!"  # the bot read @original back, then edited it
    assert result.followups == [filled] == [edited]
    assert result.ephemeral  # the deferral's flag carries over


@pytest.mark.parametrize("sandbox_config", [FAST_DEADLINE])
async def test_a_late_initial_response_is_an_unknown_interaction(
    sandbox: Sandbox, world, bot, seen
) -> None:
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        result = await sandbox.invoke(
            "echo", member=world.reader, channel=world.news, options={"text": "hi", "delay": 0.5}
        )
        assert not result.responded
        await result.wait_until(lambda: bool(result.rejections))
    assert [error.code for error in result.rejections] == [10062]
    assert isinstance(seen.errors[0], discord.NotFound) and seen.errors[0].code == 10062


async def test_a_second_initial_response_is_already_acknowledged(
    sandbox: Sandbox, world, bot
) -> None:
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        result = await sandbox.invoke(
            "echo", member=world.reader, channel=world.news, options={"text": "hi"}
        )
        url = f"{sandbox.api_base}/interactions/{result.id}/{result.token}/callback"
        async with aiohttp.ClientSession() as http:
            body = {"type": 4, "data": {"content": "again"}}
            async with http.post(url, json=body, params={"with_response": "1"}) as response:
                assert response.status == 400
                assert (await response.json())["code"] == 40060
    assert [error.code for error in result.rejections] == [40060]


async def test_interaction_response_bodies_are_validated(
    sandbox: Sandbox, world, bot, seen
) -> None:
    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        result = await sandbox.invoke(
            "echo", member=world.reader, channel=world.news, options={"text": "x" * 2001}
        )
    assert not result.responded
    error = seen.errors[0]
    assert isinstance(error, discord.HTTPException) and error.code == 50035
    [rejection] = result.rejections
    assert rejection.errors is not None and "content" in rejection.errors["data"]


async def test_followups_and_edits_are_validated(sandbox: Sandbox, world, bot) -> None:
    outcome: list[int] = []

    @bot.tree.command(name="long", description="Sends too much")
    async def long(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")
        for attempt in (
            interaction.followup.send(embed=discord.Embed(description="d" * 4097)),
            interaction.edit_original_response(content="c" * 2001),
        ):
            try:
                await attempt
            except discord.HTTPException as error:
                outcome.append(error.code)

    async with run_client(sandbox, bot):
        await _synced(sandbox, bot, world)
        result = await sandbox.invoke("long", member=world.reader, channel=world.news)
        await result.wait_until(lambda: len(result.rejections) == 2)
    assert outcome == [50035, 50035]
    assert result.content == "ok" and result.followups == []
