"""Channel messages: posting, history, Discord's body limits and the bot's permissions."""

from __future__ import annotations

import io
from typing import Any

import discord
import pytest
from discord.http import Route

from discord_sandbox import Permission, Sandbox, run_client

LONG_URL = "https://example.com/"
BUTTON = {"type": 2, "style": 1, "label": "Go", "custom_id": "go"}


def _row(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(buttons)}


def _button(number: int, **changes: Any) -> dict[str, Any]:
    return BUTTON | {"custom_id": f"b{number}"} | changes


async def _post(bot, channel_id: int, body: dict[str, Any]) -> Any:
    """Send a raw body with the bot's own HTTP client (discord.py checks some limits itself)."""
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
    return await bot.http.request(route, json=body)


async def test_post_with_embed_and_view_then_read_history(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        channel = bot.get_channel(world.news.id)
        assert isinstance(channel, discord.TextChannel)
        embed = discord.Embed(title="Chip", description="News", url="https://example.com/chip")
        embed.set_footer(text="AI News").add_field(name="Source", value="Example")
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="Read", url="https://example.com/chip"))
        view.add_item(discord.ui.Button(label="Hide", custom_id="hide"))
        first = await channel.send(
            "one", embed=embed, view=view, allowed_mentions=discord.AllowedMentions.none()
        )
        second = await channel.send("two")
        third = await channel.send("three", file=discord.File(io.BytesIO(b"hello"), "note.txt"))
        newest_first = [m.content async for m in channel.history(limit=2)]
        after_first = [m.content async for m in channel.history(after=first)]
        fetched = await channel.fetch_message(second.id)
    assert newest_first == ["three", "two"]
    assert after_first == ["two", "three"]
    assert fetched.content == "two"
    assert third.attachments[0].filename == "note.txt" and third.attachments[0].size == 5
    shown = sandbox.channel_messages(world.news)
    assert [m.content for m in shown] == ["one", "two", "three"]
    assert shown[0].author is sandbox.bot_user
    assert shown[0].embeds[0]["fields"] == [{"name": "Source", "value": "Example", "inline": True}]
    assert shown[0].custom_ids() == ["hide"] and len(shown[0].buttons()) == 2
    assert shown[0].allowed_mentions == {"parse": []}


async def test_a_message_at_the_limits_is_accepted(sandbox: Sandbox, world, bot) -> None:
    embed = {
        "title": "t" * 256,
        "description": "d" * 4096,
        "footer": {"text": "f" * 1000, "icon_url": "attachment://icon.png"},
        "author": {"name": "a" * 256},
        "fields": [{"name": "n", "value": "v" * 55}] * 7,
    }
    body = {"content": "c" * 2000, "embeds": [embed], "components": [_row(BUTTON)]}
    async with run_client(sandbox, bot):
        await _post(bot, world.news.id, body)
    assert len(sandbox.channel_messages(world.news)) == 1


BAD_BODIES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "content over 2000": ({"content": "c" * 2001}, ("content",)),
    "embeds not a list": ({"embeds": {"title": "t"}}, ("embeds",)),
    "11 embeds": ({"embeds": [{"title": "t"}] * 11}, ("embeds",)),
    "title over 256": ({"embeds": [{"title": "t" * 257}]}, ("embeds", "0", "title")),
    "description over 4096": (
        {"embeds": [{"description": "d" * 4097}]},
        ("embeds", "0", "description"),
    ),
    "26 fields": (
        {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]},
        ("embeds", "0", "fields"),
    ),
    "field name over 256": (
        {"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]},
        ("embeds", "0", "fields", "0", "name"),
    ),
    "field value over 1024": (
        {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
        ("embeds", "0", "fields", "0", "value"),
    ),
    "empty field value": (
        {"embeds": [{"fields": [{"name": "n", "value": ""}]}]},
        ("embeds", "0", "fields", "0", "value"),
    ),
    "footer over 2048": (
        {"embeds": [{"footer": {"text": "f" * 2049}}]},
        ("embeds", "0", "footer", "text"),
    ),
    "author name over 256": (
        {"embeds": [{"author": {"name": "a" * 257}}]},
        ("embeds", "0", "author", "name"),
    ),
    "6001 characters over two embeds": (
        {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
        ("embeds",),
    ),
    "ftp embed url": ({"embeds": [{"url": "ftp://example.com"}]}, ("embeds", "0", "url")),
    "javascript image": (
        {"embeds": [{"image": {"url": "javascript:alert(1)"}}]},
        ("embeds", "0", "image", "url"),
    ),
    "schemeless thumbnail": (
        {"embeds": [{"thumbnail": {"url": "example.com/a.png"}}]},
        ("embeds", "0", "thumbnail", "url"),
    ),
    "file author icon": (
        {"embeds": [{"author": {"name": "a", "icon_url": "file:///etc/passwd"}}]},
        ("embeds", "0", "author", "icon_url"),
    ),
    "data footer icon": (
        {"embeds": [{"footer": {"text": "f", "icon_url": "data:image/png;base64,AA"}}]},
        ("embeds", "0", "footer", "icon_url"),
    ),
    "6 action rows": (
        {"components": [_row(_button(n)) for n in range(6)]},
        ("components",),
    ),
    "6 buttons in a row": (
        {"components": [_row(*[_button(n) for n in range(6)])]},
        ("components", "0", "components"),
    ),
    "custom_id over 100": (
        {"components": [_row(_button(0, custom_id="i" * 101))]},
        ("components", "0", "components", "0", "custom_id"),
    ),
    "label over 80": (
        {"components": [_row(_button(0, label="l" * 81))]},
        ("components", "0", "components", "0", "label"),
    ),
    "duplicate custom_id": (
        {"components": [_row(_button(0), _button(0))]},
        ("components", "0", "components", "1", "custom_id"),
    ),
}


@pytest.mark.parametrize("body, path", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_a_body_over_discords_limits_is_refused(
    sandbox: Sandbox, world, bot, body: dict[str, Any], path: tuple[str, ...]
) -> None:
    async with run_client(sandbox, bot):
        with pytest.raises(discord.HTTPException) as refused:
            await _post(bot, world.news.id, body)
    assert refused.value.status == 400 and refused.value.code == 50035
    # discord.py flattens Discord's nested ``errors`` into "In embeds.0.title: ..." lines.
    assert refused.value.text.startswith("Invalid Form Body")
    assert f"In {'.'.join(path)}: " in refused.value.text
    assert sandbox.channel_messages(world.news) == []


async def test_an_empty_message_is_refused(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        with pytest.raises(discord.HTTPException) as refused:
            await _post(bot, world.news.id, {"content": ""})
    assert refused.value.code == 50006


async def test_permissions_of_the_bot_per_channel(sandbox: Sandbox, world, bot) -> None:
    read_only = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY
    muted = sandbox.create_channel(world.guild, "muted", bot_permissions=read_only)
    hidden = sandbox.create_channel(world.guild, "hidden", bot_permissions=Permission.NONE)
    no_embeds = sandbox.create_channel(
        world.guild, "plain", bot_permissions=read_only | Permission.SEND_MESSAGES
    )
    no_history = sandbox.create_channel(
        world.guild,
        "no-history",
        bot_permissions=Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES,
    )
    async with run_client(sandbox, bot):
        with pytest.raises(discord.Forbidden) as cannot_send:
            await bot.get_channel(muted.id).send("hi")
        with pytest.raises(discord.Forbidden) as cannot_see:
            await bot.get_channel(hidden.id).send("hi")
        with pytest.raises(discord.Forbidden) as cannot_embed:
            await bot.get_channel(no_embeds.id).send(embed=discord.Embed(title="t"))
        await bot.get_channel(no_embeds.id).send("plain text is fine")
        await bot.get_channel(no_history.id).send("posted")
        history = [m async for m in bot.get_channel(no_history.id).history()]
    assert cannot_send.value.code == 50013
    assert cannot_see.value.code == 50001
    assert cannot_embed.value.code == 50013
    assert history == []  # without Read Message History Discord returns no messages
    assert sandbox.counters.invalid_requests == 3


async def test_an_unknown_channel_is_not_found(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        with pytest.raises(discord.NotFound) as unknown:
            await bot.fetch_channel(123)
        with pytest.raises(discord.NotFound) as unknown_post:
            await _post(bot, 123, {"content": "hi"})
    assert unknown.value.code == unknown_post.value.code == 10003
    assert sandbox.counters.invalid_requests == 0  # 404s are not counted by Discord


async def test_edit_and_delete_own_messages(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        channel = bot.get_channel(world.news.id)
        message = await channel.send("draft")
        edited = await message.edit(content="final", embed=discord.Embed(title="t"))
        with pytest.raises(discord.HTTPException) as too_long:
            await message.edit(content="x" * 2001)
        doomed = await channel.send("bye")
        await doomed.delete()
    assert edited.content == "final" and edited.edited_at is not None
    assert too_long.value.code == 50035
    assert [m.content for m in sandbox.channel_messages(world.news)] == ["final"]
