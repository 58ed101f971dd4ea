"""The Discord side of digest delivery: :class:`~ainews.delivery.DigestChannels` on discord.py.

It turns Discord's answers into the two outcomes delivery acts on: :class:`PostRefused` (403,
404 or another 4xx: not retried before the next scheduled run) and :class:`PostFailed` (a 5xx, a
timeout or a dropped connection: retried with backoff).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import discord

from ainews.cards import NO_MENTIONS
from ainews.delivery import HISTORY_LOOKBACK, PostedMessage, PostFailed, PostRefused

T = TypeVar("T")

#: Discord's JSON error codes for a channel the bot cannot see, and a permission it lacks.
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
#: Discord's codes for a thread that is archived (and the bot cannot reopen it) or locked, and
#: for a forum post without the tag the forum requires.
THREAD_ARCHIVED = 50083
THREAD_LOCKED = 160005
TAG_REQUIRED = 40067
#: Every request to Discord gets this long, at most: a hung one must not hold a channel's
#: posting lock (it is then treated as a failure to retry, resolved by its marker).
REQUEST_SECONDS = 30.0
#: How far our clock and Discord's may disagree, for :meth:`DiscordChannels.history_mark`.
CLOCK_SKEW = timedelta(minutes=2)


class DiscordChannels:
    """Posts and reads channels through a logged-in discord.py client."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def send(
        self,
        channel_id: int,
        guild_id: int | None,
        *,
        content: str,
        embeds: Sequence[discord.Embed] = (),
        nonce: str | None = None,
        mention_role_id: int | None = None,
    ) -> int:
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        given_nonce: dict[str, Any] = {"nonce": nonce} if nonce is not None else {}
        async with _translated_errors():
            message = await channel.send(
                content=content,
                embeds=list(embeds),
                allowed_mentions=only_role(mention_role_id),
                **given_nonce,
            )
        return message.id

    async def create_post(
        self,
        forum_id: int,
        guild_id: int | None,
        *,
        title: str,
        topics: Sequence[str],
        content: str,
        embeds: Sequence[discord.Embed],
        mention_role_id: int | None = None,
    ) -> int:
        async with _translated_errors():
            forum = self.client.get_channel(forum_id) or await self.client.fetch_channel(forum_id)
            if not isinstance(forum, discord.ForumChannel):
                raise PostRefused("the channel is no longer a forum: subscribe it again")
            made = await forum.create_thread(
                name=title[:100],
                content=content,
                embeds=list(embeds),
                allowed_mentions=only_role(mention_role_id),
                applied_tags=post_tags(forum, topics),
            )
        return made.thread.id

    async def own_posts(
        self, forum_id: int, guild_id: int | None, *, after: int | None
    ) -> list[PostedMessage]:
        me = self.client.user
        found: list[PostedMessage] = []
        async with _translated_errors():
            forum = self.client.get_channel(forum_id) or await self.client.fetch_channel(forum_id)
            if not isinstance(forum, discord.ForumChannel):
                return found
            threads = [t for t in await forum.guild.active_threads() if t.parent_id == forum_id]
            threads += [t async for t in forum.archived_threads(limit=HISTORY_LOOKBACK)]
            for thread in {t.id: t for t in threads}.values():
                if (after is not None and thread.id <= after) or thread.owner_id != getattr(
                    me, "id", None
                ):
                    continue
                starter = await thread.fetch_message(thread.id)
                found.append(PostedMessage(thread.id, starter.content))
        return found

    async def publish(self, channel_id: int, guild_id: int | None, message_id: int) -> None:
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        async with _translated_errors():
            await channel.get_partial_message(message_id).publish()

    def history_mark(self) -> int:
        return discord.utils.time_snowflake(datetime.now(UTC) - CLOCK_SKEW)

    async def own_messages(
        self, channel_id: int, guild_id: int | None, *, after: int | None
    ) -> list[PostedMessage]:
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        pages = (
            channel.history(limit=None, after=discord.Object(after), oldest_first=True)
            if after is not None
            else channel.history(limit=HISTORY_LOOKBACK)
        )
        me = self.client.user
        found: list[PostedMessage] = []
        async with _translated_errors(limit=None):  # a long history: a time limit a page
            async for message in _paged(pages):
                if me is not None and message.author.id == me.id:
                    found.append(PostedMessage(message.id, message.content))
        return found

    async def check_can_post(self, channel_id: int, guild_id: int | None) -> None:
        async with _translated_errors():
            channel = await self.client.fetch_channel(channel_id)
        guild = getattr(channel, "guild", None)
        me = guild.me if guild is not None else None
        if me is None or not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
            return
        try:
            allowed = channel.permissions_for(me)
        except discord.ClientException as unknown:  # a thread whose parent is not cached
            raise PostFailed(f"cannot tell the bot's permissions there ({unknown})") from unknown
        if not allowed.view_channel:
            raise PostRefused(refusal_text(MISSING_ACCESS))
        if isinstance(channel, discord.Thread):
            posts = allowed.send_messages_in_threads
        elif isinstance(channel, discord.ForumChannel):  # the post, then its later parts
            posts = allowed.send_messages and allowed.send_messages_in_threads
        else:
            posts = allowed.send_messages
        if not (posts and allowed.embed_links and allowed.read_message_history):
            raise PostRefused(refusal_text(MISSING_PERMISSIONS))

    async def edit(
        self,
        channel_id: int,
        guild_id: int | None,
        message_id: int,
        *,
        embeds: Sequence[discord.Embed],
    ) -> None:
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        async with _translated_errors():
            await channel.get_partial_message(message_id).edit(
                embeds=list(embeds), allowed_mentions=NO_MENTIONS
            )

    def system_channel_id(self, guild_id: int) -> int | None:
        guild = self.client.get_guild(guild_id)
        return guild.system_channel.id if guild and guild.system_channel else None


@asynccontextmanager
async def _translated_errors(limit: float | None = REQUEST_SECONDS) -> AsyncIterator[None]:
    """Discord's answers as PostRefused or PostFailed, and a time limit on the request."""
    try:
        async with asyncio.timeout(limit):
            yield
    except discord.NotFound as error:
        raise PostRefused(refusal_reason(error), gone=True) from error
    except discord.Forbidden as error:
        raise PostRefused(refusal_reason(error)) from error
    except (discord.DiscordServerError, aiohttp.ClientError, TimeoutError) as error:
        raise PostFailed(f"Discord did not answer properly ({error})") from error
    except discord.HTTPException as error:  # a 400, a 429 without Via: retrying won't help
        raise PostRefused(refusal_reason(error)) from error


async def _paged(items: AsyncIterator[T]) -> AsyncIterator[T]:
    """``items`` (a history: a request a page), each within :data:`REQUEST_SECONDS`."""
    iterator = aiter(items)
    while True:
        try:
            async with asyncio.timeout(REQUEST_SECONDS):
                item = await anext(iterator)
        except StopAsyncIteration:
            return
        yield item


def post_tags(forum: discord.ForumChannel, topics: Sequence[str]) -> list[discord.ForumTag]:
    """The tag a digest post gets: the first named like one of its topics; else, if the
    forum requires a tag, its first one; else none."""
    wanted = {topic.casefold() for topic in topics}
    for tag in forum.available_tags:
        if tag.name.casefold() in wanted:
            return [tag]
    if forum.flags.require_tag and forum.available_tags:
        return [forum.available_tags[0]]
    return []


def only_role(role_id: int | None) -> discord.AllowedMentions:
    """Mentions that may ping ``role_id`` and nothing else (no one at all without a role)."""
    if role_id is None:
        return NO_MENTIONS
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False
    )


def refusal_reason(error: discord.HTTPException) -> str:
    """Why Discord refused, in words an admin can act on."""
    if error.code in (MISSING_ACCESS, MISSING_PERMISSIONS):
        return refusal_text(error.code)
    if error.code in (THREAD_ARCHIVED, THREAD_LOCKED):
        return (
            "the thread is locked or archived and the bot may not reopen it: unlock it, or give "
            "the bot the Manage Threads permission there"
        )
    if error.code == TAG_REQUIRED:
        return "the forum requires a tag the bot cannot apply: add a tag to the forum"
    if isinstance(error, discord.NotFound):
        return "the channel no longer exists"
    return f"Discord refused the message ({error.status} {error.text or error.code})"


def refusal_text(code: int) -> str:
    if code == MISSING_ACCESS:
        return "the bot cannot see that channel (it needs the View Channel permission)"
    return (
        "the bot is missing a permission there (Send Messages, Embed Links or Read Message History)"
    )
