"""Channel digests: the /digest commands for admins, the scheduler loop, and clean-up events.

One digest per channel combines all its topics. The scheduler is one loop that asks the store
what is due (no task per subscription), delivers it, edits digest messages whose cards changed,
and sleeps until the next digest is due, waking early when a command changes a schedule or a
rescan changes cards, and at least every ``SCHEDULER_MAX_SLEEP`` seconds (so a jump of the wall
clock is noticed). Time comes from ``bot.clock`` so tests drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ainews.cards import NO_MENTIONS
from ainews.cogs.topic_option import Topic
from ainews.delivery import DeliveryResult, Outcome
from ainews.digest import part_embeds
from ainews.digest_filters import DigestFilter, FilterError, parse_domains, parse_terms
from ainews.schedule import (
    Schedule,
    ScheduleError,
    next_run_after,
    parse_days,
    parse_time,
    parse_timezone,
    timezone_names,
)
from ainews.store.database import StoreUnavailable
from ainews.store.digests import NO_FILTERS, ChannelKind, Digest, DigestStyle
from ainews.tree import UserFacingError

if TYPE_CHECKING:
    from ainews.app import NewsBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["NewsBot"]
#: Where a digest can go: a text or announcement channel, a forum (a post each time) or a thread
#: (as Discord resolves it: an archived thread is in no cache).
DigestChannel = discord.TextChannel | discord.ForumChannel | app_commands.AppCommandThread
#: The scheduler looks at what is due at least this often, whatever it expects.
SCHEDULER_MAX_SLEEP = 15.0
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
        self.scheduler: asyncio.Task[None] | None = None
        #: The scheduler looks at what is due at least this often (seconds).
        self.max_sleep = SCHEDULER_MAX_SLEEP
        super().__init__()

    async def cog_load(self) -> None:
        self.scheduler = asyncio.create_task(self.run_scheduler(), name="ainews-digest-scheduler")

    async def cog_unload(self) -> None:
        await self.stop_scheduler()

    async def stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.scheduler

    async def interaction_check(self, interaction: Interaction) -> bool:  # type: ignore[override]
        """Server overrides can change who sees the commands: check the permission again."""
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        if interaction.guild_id is not None and interaction.channel_id is not None:
            await self.digests.set_notify_channel(interaction.guild_id, interaction.channel_id)
        return True

    # Scheduler --------------------------------------------------------------------------------

    async def run_scheduler(self) -> None:
        await self.bot.wait_until_ready()
        await self.bot.corpus_ready.wait()
        await self.bot.rate_share_settled.wait()
        woken = self.deliverer.woken
        while True:
            woken.clear()
            try:
                await self.deliverer.run_due()
                # Edits of changed cards, for every server: one process of a deployment at a
                # time makes them (the others skip the pass), so none is sent twice.
                async with self.bot.database.exclusive("card-edits", wait=False) as ours:
                    if ours:
                        await self.deliverer.edit_changed_cards()
                delay = await self.deliverer.seconds_until_due(self.max_sleep)
            except StoreUnavailable as unavailable:  # a database restart: wait it out
                log.warning("digest scheduler pass stopped: %s; trying again shortly", unavailable)
                delay = self.max_sleep
            except Exception:
                log.exception("digest scheduler pass failed; will try again")
                delay = self.max_sleep
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), delay)

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
        role="A role to ping with each digest (default: none; /digest mention changes it)",
        style="cards (one card an article, default) or compact (one list of headlines)",
        publish="In an announcement channel: publish each digest to the servers following it",
    )
    async def subscribe(
        self,
        interaction: Interaction,
        topic: Topic,
        channel: DigestChannel | None = None,
        time: str | None = None,
        timezone: str | None = None,
        days: str | None = None,
        max_items: app_commands.Range[int, 1, 10] | None = None,
        backfill: app_commands.Range[int, 0, 10] = 0,
        role: discord.Role | None = None,
        style: DigestStyle | None = None,
        publish: bool | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        target = self.target_channel(interaction, channel)
        kind = channel_kind(channel or interaction.channel)
        if publish and kind != "announcement":
            raise UserFacingError(
                "Only an announcement channel's messages can be published: leave `publish` out, "
                "or choose an announcement channel."
            )
        if role is not None:
            self.check_role_can_ping(role, target)
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
        if role is not None:
            await self.digests.set_mention_role(target, role.id)
        if style is not None:
            await self.digests.set_style(target, style)
        await self.digests.set_kind(target, kind)
        if publish is not None:
            await self.digests.set_publish(target, publish)
        digest = await self.digests.get(target)
        assert digest is not None
        self.scheduler_wake()
        summary = (
            f"<#{target}> now gets **{discord.utils.escape_markdown(topic.name)}** in its digest: "
            f"{schedule.describe()}, up to {digest.max_items} articles"
            f"{f', pinging <@&{digest.mention_role_id}>' if digest.mention_role_id else ''}"
            f"{', compact' if digest.style == 'compact' else ''}. "
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
        self, interaction: Interaction, topic: str, channel: DigestChannel | None = None
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
        # Counting what filters hold back reads up to a thousand articles a digest: answer
        # "thinking…" first, within Discord's 3 s.
        counting = any(digest.filters.active for digest in digests[:25])
        if counting:
            await interaction.response.defer(ephemeral=True, thinking=True)
        for digest in digests[:25]:
            notes = []
            if digest.mention_role_id is not None:
                notes.append(self.ping_note(digest))
            if digest.kind == "forum":
                notes.append("A forum post each time")
            if digest.publish:
                notes.append(
                    f"⚠️ Publishing: {digest.publish_problem}"
                    if digest.publish_problem
                    else "Published to following servers"
                )
            if digest.filters.active:
                held_back = (await self.deliverer.plan(digest)).held_back
                notes.append(
                    f"Filters: {discord.utils.escape_markdown(digest.filters.describe())}"
                    f" ({held_back} new held back)"
                )
            embed.add_field(
                name=f"#{self.channel_name(digest.channel_id)}",
                value=describe_digest(digest, names, notes)[:1024],
                inline=False,
            )
        if len(digests) > 25:
            embed.set_footer(text=f"… and {len(digests) - 25} more")
        if counting:
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(
        name="preview", description="Show exactly what the next digest would post now"
    )
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def preview(self, interaction: Interaction, channel: DigestChannel | None = None) -> None:
        digest = await self.existing_digest(interaction, channel)
        plan = await self.deliverer.plan(digest)
        parts = plan.parts
        status = describe_status(digest)
        if digest.filters.active:
            status += (
                f" Filters: {discord.utils.escape_markdown(digest.filters.describe())}; "
                f"{plan.held_back} new article{'s' if plan.held_back != 1 else ''} held back."
            )
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

    @app_commands.command(name="mention", description="Choose the role a digest pings")
    @app_commands.describe(
        channel="The digest's channel (default: this one)",
        role="The role to ping with each digest (leave out to stop pinging)",
    )
    async def mention(
        self,
        interaction: Interaction,
        channel: DigestChannel | None = None,
        role: discord.Role | None = None,
    ) -> None:
        digest = await self.existing_digest(interaction, channel)
        if role is not None:
            self.check_role_can_ping(role, digest.channel_id)
        await self.digests.set_mention_role(digest.channel_id, role.id if role else None)
        said = (
            f"<#{digest.channel_id}>'s digest now pings <@&{role.id}> with its first message."
            if role
            else f"<#{digest.channel_id}>'s digest pings nobody now."
        )
        await interaction.response.send_message(said, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="filter", description="Choose which articles a digest posts")
    @app_commands.describe(
        channel="The digest's channel (default: this one)",
        include='Post only articles with any of these words or "quoted phrases", comma-separated',
        exclude='Never post articles with any of these words or "quoted phrases"',
        providers_excluded="Never post from these domains (subdomains too), e.g. example.com",
        min_quality="Post only articles of at least this quality (those without one pass)",
        clear="Remove every filter first",
    )
    async def filter(
        self,
        interaction: Interaction,
        channel: DigestChannel | None = None,
        include: app_commands.Range[str, 1, 1000] | None = None,
        exclude: app_commands.Range[str, 1, 1000] | None = None,
        providers_excluded: app_commands.Range[str, 1, 1000] | None = None,
        min_quality: app_commands.Range[int, -1_000_000, 1_000_000] | None = None,
        clear: bool = False,
    ) -> None:
        digest = await self.existing_digest(interaction, channel)
        current = NO_FILTERS if clear else digest.filters
        try:
            filters = DigestFilter(
                include=parse_terms(include) if include is not None else current.include,
                exclude=parse_terms(exclude) if exclude is not None else current.exclude,
                providers_excluded=parse_domains(providers_excluded)
                if providers_excluded is not None
                else current.providers_excluded,
                min_quality=min_quality if min_quality is not None else current.min_quality,
            )
        except FilterError as error:
            raise UserFacingError(f"That filter is not accepted: {error}.") from None
        await self.digests.set_filters(digest.channel_id, filters)
        await interaction.response.send_message(
            f"<#{digest.channel_id}>'s digest filters: "
            f"{discord.utils.escape_markdown(filters.describe())}.",
            ephemeral=True,
        )

    @app_commands.command(name="pause", description="Stop a digest for now, keeping its settings")
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def pause(self, interaction: Interaction, channel: DigestChannel | None = None) -> None:
        digest = await self.existing_digest(interaction, channel)
        await self.digests.set_paused(digest.channel_id, True)
        self.scheduler_wake()
        await interaction.response.send_message(
            f"<#{digest.channel_id}>'s digest is paused: `/digest resume` starts it again.",
            ephemeral=True,
        )

    @app_commands.command(name="resume", description="Start a paused digest again")
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def resume(self, interaction: Interaction, channel: DigestChannel | None = None) -> None:
        digest = await self.existing_digest(interaction, channel)
        next_run = next_run_after(digest.schedule, self.bot.clock())
        await self.digests.set_paused(digest.channel_id, False, next_run)
        self.scheduler_wake()
        await interaction.response.send_message(
            f"<#{digest.channel_id}>'s digest runs again. Next: {discord_time(next_run)}.",
            ephemeral=True,
        )

    @app_commands.command(name="now", description="Deliver a channel's digest now")
    @app_commands.describe(channel="The digest's channel (default: this one)")
    async def now(self, interaction: Interaction, channel: DigestChannel | None = None) -> None:
        digest = await self.existing_digest(interaction, channel)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.deliverer.deliver(digest, scheduled=False)
        await interaction.followup.send(
            f"<#{digest.channel_id}>: {describe_result(result)}",
            ephemeral=True,
        )

    # Helpers ----------------------------------------------------------------------------------

    def target_channel(self, interaction: Interaction, channel: DigestChannel | None) -> int:
        if channel is not None:
            return channel.id
        assert interaction.channel_id is not None
        return interaction.channel_id

    def check_role_can_ping(self, role: discord.Role, target: int) -> None:
        """Refuse a role the digest must not or cannot ping, saying why (a UserFacingError)."""
        problem = role_ping_problem(role, self.bot.get_channel(target))
        if problem is not None:
            raise UserFacingError(f"The digest cannot ping that role: {problem}.")

    def ping_note(self, digest: Digest) -> str:
        """The role a digest pings, and why it cannot if it cannot any more."""
        guild = self.bot.get_guild(digest.guild_id)
        role = guild.get_role(digest.mention_role_id) if guild and digest.mention_role_id else None
        if role is None:
            return "⚠️ Pings: the role was deleted; `/digest mention` sets another"
        problem = role_ping_problem(role, self.bot.get_channel(digest.channel_id))
        return f"⚠️ Pings <@&{role.id}>: it cannot, {problem}" if problem else f"Pings <@&{role.id}>"

    def scheduler_wake(self) -> None:
        """Subscriptions changed: the scheduler looks again at what is due next."""
        self.deliverer.wake()

    def channel_name(self, channel_id: int) -> str:
        channel = self.bot.get_channel(channel_id)
        return getattr(channel, "name", str(channel_id))

    async def existing_digest(
        self, interaction: Interaction, channel: DigestChannel | None
    ) -> Digest:
        target = self.target_channel(interaction, channel)
        digest = await self.digests.get(target)
        if digest is None:
            raise UserFacingError(f"<#{target}> has no digest. Start one with `/digest subscribe`.")
        return digest


def channel_kind(channel: object) -> ChannelKind:
    """What kind of digest target ``channel`` is."""
    if isinstance(channel, discord.ForumChannel):
        return "forum"
    if isinstance(channel, discord.Thread | app_commands.AppCommandThread):
        return "thread"
    if isinstance(channel, discord.TextChannel) and channel.is_news():
        return "announcement"
    return "text"


def role_ping_problem(role: discord.Role, channel: object) -> str | None:
    """Why a digest in ``channel`` cannot ping ``role``; None when it can."""
    if role.is_default():
        return "@everyone pings the whole server; choose a role (a digest never pings @everyone)"
    if role.mentionable:
        return None
    me = role.guild.me
    if (
        isinstance(channel, discord.abc.GuildChannel)
        and me is not None
        and channel.permissions_for(me).mention_everyone
    ):
        return None
    return (
        f"the role {role.name} is not mentionable, and the bot lacks the Mention Everyone "
        "permission there: make the role mentionable (Server Settings → Roles) or give the bot "
        "Mention Everyone in that channel"
    )


def describe_status(digest: Digest) -> str:
    if digest.status == "active":
        return "Status: active."
    return f"Status: {digest.status} — {digest.failure or 'no reason recorded'}."


def describe_digest(digest: Digest, names: dict[str, str], notes: Sequence[str] = ()) -> str:
    topics = ", ".join(discord.utils.escape_markdown(names.get(k, k)) for k in digest.topic_keys)
    if digest.status == "inactive":
        when = "Not scheduled"
    elif digest.paused:
        when = "Paused: `/digest resume` starts it again"
    else:
        when = f"Next: {discord_time(digest.next_run_at)}"
    lines = [
        f"<#{digest.channel_id}>: {topics}",
        f"{digest.schedule.describe()}, up to {digest.max_items} articles"
        + (", compact" if digest.style == "compact" else ""),
        when,
        *notes,
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
