"""Fixtures for the sandbox's self-tests: the plugin's fixtures, a world, and a small bot.

The bot is built here, in the tests, from discord.py alone: the sandbox must work with any bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from discord_sandbox import Channel, Guild, Member, Permission, Sandbox

TOPICS = ["llm", "robotics", "chips", "policy", "vision"]


@dataclass
class Seen:
    """What the test bot's handlers received, for the tests to check."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


class NewsView(discord.ui.View):
    """Two buttons: one answers by updating the message, one by deferring then editing."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="More", custom_id="news:more", style=discord.ButtonStyle.primary)
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="Expanded", view=self)

    @discord.ui.button(label="Ack", custom_id="news:ack")
    async def ack(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="Acknowledged", view=None)


class TestBot(commands.Bot):
    """A plain ``commands.Bot`` that re-identifies without discord.py's 5-second pause."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # The documented hook; its default sleeps 5 s before every re-IDENTIFY, which only
        # slows the invalid-session tests down (they give the sandbox identify_window=0, or
        # it would answer the quick IDENTIFY with op 9 as Discord does).
        return None


def build_bot(seen: Seen, *, intents: discord.Intents | None = None) -> commands.Bot:
    """A bot with a ``digest`` group (a subcommand and a nested group) and a few commands."""
    bot = TestBot(
        command_prefix=commands.when_mentioned,
        intents=intents or discord.Intents.default(),
        guild_ready_timeout=0.1,
    )
    digest = app_commands.Group(
        name="digest",
        description="Topic digests",
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )
    schedule = app_commands.Group(name="schedule", description="When digests post", parent=digest)

    @digest.command(name="subscribe", description="Subscribe a channel to a topic")
    @app_commands.describe(topic="Topic", count="Stories per digest", images="Show images")
    async def subscribe(
        interaction: discord.Interaction,
        topic: str,
        count: app_commands.Range[int, 1, 10],
        images: bool,
        channel: discord.TextChannel,
    ) -> None:
        seen.calls.append(
            ("subscribe", {"topic": topic, "count": count, "images": images, "channel": channel})
        )
        await interaction.response.send_message(
            f"Subscribed {channel.mention} to {topic}", ephemeral=True
        )

    @subscribe.autocomplete("topic")
    async def topic_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in TOPICS if current in t]

    @schedule.command(name="set", description="Set the hour")
    async def schedule_set(
        interaction: discord.Interaction, hour: app_commands.Range[int, 0, 23]
    ) -> None:
        seen.calls.append(("schedule set", {"hour": hour}))
        await interaction.response.send_message(f"Digest at {hour:02d}:00")

    @app_commands.command(name="news", description="Latest news")
    async def news(interaction: discord.Interaction) -> None:
        embed = discord.Embed(
            title="Chip news", description="A new chip", url="https://example.com"
        )
        await interaction.response.send_message(embed=embed, view=NewsView())

    @app_commands.command(name="slow", description="Deferred answer")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("Done thinking")
        original = await interaction.original_response()  # GET .../messages/@original
        await interaction.edit_original_response(content=f"{original.content}!")

    @app_commands.command(name="echo", description="Replies with the text")
    async def echo(interaction: discord.Interaction, text: str, delay: float = 0.0) -> None:
        await asyncio.sleep(delay)
        try:
            await interaction.response.send_message(text)
        except discord.HTTPException as error:
            seen.errors.append(error)

    bot.tree.add_command(digest)
    for command in (news, slow, echo):
        bot.tree.add_command(command)
    return bot


@dataclass
class Scene:
    """A guild with a news channel, an admin (Manage Server) and a reader."""

    guild: Guild
    news: Channel
    admin: Member
    reader: Member


@pytest.fixture
def world(sandbox: Sandbox) -> Scene:
    guild = sandbox.create_guild("AI News")
    return Scene(
        guild=guild,
        news=sandbox.create_channel(guild, "news"),
        admin=sandbox.add_member(guild, "alice", permissions=Permission.MANAGE_GUILD),
        reader=sandbox.add_member(guild, "bob"),
    )


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def make_bot(seen: Seen) -> Callable[..., commands.Bot]:
    """Build another test bot (e.g. with other intents); it records into ``seen``."""

    def make(intents: discord.Intents | None = None) -> commands.Bot:
        return build_bot(seen, intents=intents)

    return make


@pytest.fixture
def bot(make_bot: Callable[..., commands.Bot]) -> commands.Bot:
    return make_bot()
