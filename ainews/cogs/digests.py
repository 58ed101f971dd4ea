"""Channel digests: the /digest commands for admins, the scheduler loop, and clean-up events.

One digest per channel combines all its topics. The scheduler is one loop that asks the store
what is due (no task per subscription); time comes from ``bot.clock`` so tests drive it.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from ainews.cards import NO_MENTIONS
from ainews.cogs.topic_option import Topic
from ainews.delivery import DeliveryResult, Outcome
from ainews.digest import part_embeds
from ainews.schedule import (
    Schedule,
    ScheduleError,
    next_run_after,
    parse_days,
    parse_time,
    parse_timezone,
    timezone_names,
)
from ainews.store.digests import Digest
from ainews.tree import UserFacingError

if TYPE_CHECKING:
    from ainews.app import NewsBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["NewsBot"]
SCHEDULER_SECONDS = 30
DEFAULT_SCHEDULE = Schedule(time(9, 0), "UTC", frozenset(range(7)))
DEFAULT_MAX_ITEMS = 5


def discord_time(moment: datetime) -> str:
    return f"{discord.utils.format_dt(moment, 'F')} ({discord.utils.format_dt(moment, 'R')})"


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class DigestCommands(
    commands.GroupCog, group_name="digest", group_description="Scheduled AI news digests"
):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.deliverer = bot.deliverer
        self.digests = bot.digests
        super().__init__()

    async def cog_load(self) -> None:
        self.scheduler.start()

    async def cog_unload(self) -> None:
        self.scheduler.cancel()

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        """Server overrides can change who sees the commands: check the permission again."""
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        if interaction.guild_id is not None and interaction.channel_id is not None:
            await self.digests.set_notify_channel(interaction.guild_id, interaction.channel_id)
        return True

    # Scheduler --------------------------------------------------------------------------------

    @tasks.loop(seconds=SCHEDULER_SECONDS)
    async def scheduler(self) -> None:
        try:
            await self.deliverer.run_due()
        except Exception:
            log.exception("digest scheduler pass failed; will try again")

    @scheduler.before_loop
    async def before_scheduler(self) -> None:
        await self.bot.wait_until_ready()
        await self.bot.corpus_ready.wait()

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        if await self.digests.deactivate_channel(channel.id, "the channel was deleted"):
            log.info("digest for deleted channel %s deactivated", channel.id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        count = await self.digests.deactivate_guild(guild.id, "the bot left the server")
        if count:
            log.info("%d digest(s) of server %s deactivated: the bot left", count, guild.id)

    # Commands ---------------------------------------------------------------------------------

    @app_commands.command(name="subscribe", description="Add a topic to a channel's digest")
    @app_commands.describe(
        topic="The topic to follow (start typing for suggestions)",
        channel="Where to post the digest (default: this channel)",
        time="Local time of day, 24-hour HH:MM (default 09:00)",
        timezone="IANA timezone such as Europe/Paris (default UTC)",
        days="daily, weekdays, weekends, or days such as mon,wed,fri (default daily)",
        max_items="Most articles per digest (1-10, default 5)",
        backfill="Post this many recent articles now (0-10, default 0)",
    )
    async def subscribe(
        self,
        interaction: Interaction,
        topic: Topic,
        channel: discord.TextChannel | None = None,
        time: str | None = None,
        timezone: str | None = None,
        days: str | None = None,
        max_items: app_commands.Range[int, 1, 10] | None = None,
        backfill: app_commands.Range[int, 0, 10] = 0,
    ) -> None:
        assert interaction.guild_id is not None
        target = self.target_channel(interaction, channel)
        current = await self.digests.get(target)
        kept = current.schedule if current else DEFAULT_SCHEDULE
        try:
            schedule = Schedule(
                parse_time(time) if time else kept.local_time,
                parse_timezone(timezone) if timezone else kept.timezone,
                parse_days(days) if days else kept.days,
            )
        except ScheduleError as error:
            raise UserFacingError(str(error)) from None
        next_run = next_run_after(schedule, self.bot.clock())
        await self.digests.subscribe(
            channel_id=target,
            guild_id=interaction.guild_id,
            topic_key=topic.key,
            schedule=schedule,
            max_items=max_items or (current.max_items if current else DEFAULT_MAX_ITEMS),
            next_run_at=next_run,
            notify_channel_id=interaction.channel_id,
        )
        digest = await self.digests.get(target)
        assert digest is not None
        summary = (
            f"<#{target}> now gets **{discord.utils.escape_markdown(topic.name)}** in its digest: "
            f"{schedule.describe()}, up to {digest.max_items} articles. "
            f"Next: {discord_time(next_run)}."
        )
        if not backfill:
            await interaction.response.send_message(summary, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.deliverer.deliver(digest, scheduled=False, limit=backfill)
        await interaction.followup.send(
            f"{summary}\nBackfill: {describe_result(result)}",
            ephemeral=True,
        )

    @subscribe.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().casefold().replace(" ", "_")
        names = timezone_names()
        prefix = [n for n in names if n.casefold().startswith(typed)]
        inner = [n for n in names if typed in n.casefold() and n not in prefix]
        return [app_commands.Choice(name=n, value=n) for n in (prefix + inner)[:25]]

    @app_commands.command(name="unsubscribe", description="Remove a topic from a channel's digest")
    @app_commands.describe(
        topic="The topic to stop", channel="The digest's channel (default: this one)"
    )
    async def unsubscribe(
        self, interaction: Interaction, topic: str, channel: discord.TextChannel | None = None
    ) -> None:
        target = self.target_channel(interaction, channel)
        key = " ".join(topic.split()).casefold()
        if not await self.digests.unsubscribe(target, key):
            raise UserFacingError(
                f"<#{target}>'s digest does not include that topic: /digest list shows its topics."
            )
        left = await self.digests.get(target)
        tail = "" if left else " It had no other topics, so the digest is removed."
        await interaction.response.send_message(
            f"<#{target}> no longer gets {discord.utils.escape_markdown(topic)} in its digest."
            + tail,
            ephemeral=True,
        )

    @unsubscribe.autocomplete("topic")
    async def unsubscribe_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        target = (
            interaction.namespace.channel.id
            if interaction.namespace.channel
            else interaction.channel_id
        )
        digest = await self.digests.get(target) if target else None
        names = {t.key: t.name for t in await self.bot.catalog.topics()}
        keys = digest.topic_keys if digest else ()
        return [
            app_commands.Choice(name=names.get(k, k)[:100], value=names.get(k, k)[:100])
            for k in keys
            if current.casefold() in k
        ][:25]

    @app_commands.command(name="list", description="Every digest of this server")
    async def list_digests(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        digests = await self.digests.for_guild(interaction.guild_id)
        if not digests:
            raise UserFacingError(
                "This server has no digests yet. Start one with `/digest subscribe`."
            )
        names = {t.key: t.name for t in await self.bot.catalog.topics()}
        embed = discord.Embed(title="Digests")
        for digest in digests[:25]:
            embed.add_field(
                name=f"#{self.channel_name(digest.channel_id)}",
                value=describe_digest(digest, names)[:1024],
                inline=False,
            )
        if len(digests) > 25:
            embed.set_footer(text=f"… and {len(digests) - 25} more")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(
        name="preview", description="Show exactly what the next digest would post now"
    )
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def preview(
        self, interaction: Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        digest = await self.existing_digest(interaction, channel)
        parts = await self.deliverer.compose(digest)
        status = describe_status(digest)
        if not parts:
            raise UserFacingError(
                f"Nothing new for <#{digest.channel_id}> now: no digest would be posted. {status}"
            )
        for number, part in enumerate(parts):
            text = f"{part.text}\n-# preview · {status}" if number == len(parts) - 1 else part.text
            send = interaction.followup.send if number else interaction.response.send_message
            await send(
                content=text, embeds=part_embeds(part), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    @app_commands.command(name="now", description="Deliver a channel's digest now")
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def now(
        self, interaction: Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        digest = await self.existing_digest(interaction, channel)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.deliverer.deliver(digest, scheduled=False)
        await interaction.followup.send(
            f"<#{digest.channel_id}>: {describe_result(result)}",
            ephemeral=True,
        )

    # Helpers ----------------------------------------------------------------------------------

    def target_channel(
        self, interaction: Interaction, channel: discord.abc.GuildChannel | None
    ) -> int:
        if channel is not None:
            return channel.id
        assert interaction.channel_id is not None
        return interaction.channel_id

    def channel_name(self, channel_id: int) -> str:
        channel = self.bot.get_channel(channel_id)
        return getattr(channel, "name", str(channel_id))

    async def existing_digest(
        self, interaction: Interaction, channel: discord.TextChannel | None
    ) -> Digest:
        target = self.target_channel(interaction, channel)
        digest = await self.digests.get(target)
        if digest is None:
            raise UserFacingError(f"<#{target}> has no digest. Start one with `/digest subscribe`.")
        return digest


def describe_status(digest: Digest) -> str:
    if digest.status == "active":
        return "Status: active."
    return f"Status: {digest.status} — {digest.failure or 'no reason recorded'}."


def describe_digest(digest: Digest, names: dict[str, str]) -> str:
    topics = ", ".join(discord.utils.escape_markdown(names.get(k, k)) for k in digest.topic_keys)
    lines = [
        f"<#{digest.channel_id}>: {topics}",
        f"{digest.schedule.describe()}, up to {digest.max_items} articles",
        f"Next: {discord_time(digest.next_run_at)}"
        if digest.status != "inactive"
        else "Not scheduled",
        describe_status(digest),
    ]
    return "\n".join(lines)


def describe_result(result: DeliveryResult) -> str:
    if result.outcome is Outcome.SENT:
        return f"delivered {result.articles} article{'s' if result.articles != 1 else ''}."
    if result.outcome is Outcome.NOTHING_NEW:
        return "nothing new to post; no message was sent."
    if result.outcome is Outcome.RETRYING:
        return f"Discord did not answer; it will be retried shortly ({result.reason})."
    return f"could not be delivered: {result.reason}."


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(DigestCommands(bot))
