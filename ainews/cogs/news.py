"""Members' commands: /news, /latest, /topics, /search, and the persistent "More" button.

Public answers are recorded in the ledger once Discord has accepted each message, so a story is
not shown twice in a channel. ``private:True`` answers only the member and records nothing.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from ainews.cards import NO_MENTIONS, pack_cards, pack_embeds, with_video_link
from ainews.cogs.topic_option import Topic
from ainews.store.catalog import NewsCatalog, StoredArticle, TopicStats, search_words
from ainews.store.ledger import PostedArticle
from ainews.tree import (
    UNEXPECTED_ERROR_REPLY,
    UserFacingError,
    deferred_if_slow,
    reply_privately,
    send_answer,
)

if TYPE_CHECKING:
    from ainews.app import NewsBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["NewsBot"]
Count = app_commands.Range[int, 1, 10]
DEFAULT_COUNT = 5
TOPICS_PER_PAGE = 20
ALL_TOPICS = "*"


class NewsCommands(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="news", description="The newest AI news on a topic, not yet posted here"
    )
    @app_commands.describe(
        topic="A topic, e.g. AI Hardware (start typing for suggestions)",
        count="How many articles (1-10, default 5)",
        include_seen="Also show articles already posted in this channel",
        private="Show the articles only to you (nothing is recorded)",
    )
    async def news(
        self,
        interaction: Interaction,
        topic: Topic,
        count: Count = DEFAULT_COUNT,
        include_seen: bool = False,
        private: bool = False,
    ) -> None:
        await show_newest(interaction, topic, count, include_seen=include_seen, private=private)

    @app_commands.command(name="latest", description="The newest AI news on every topic")
    @app_commands.describe(
        count="How many articles (1-10, default 5)",
        include_seen="Also show articles already posted in this channel",
        private="Show the articles only to you (nothing is recorded)",
    )
    async def latest(
        self,
        interaction: Interaction,
        count: Count = DEFAULT_COUNT,
        include_seen: bool = False,
        private: bool = False,
    ) -> None:
        await show_newest(interaction, None, count, include_seen=include_seen, private=private)

    @app_commands.command(name="topics", description="Every topic, with its article count")
    async def topics(self, interaction: Interaction) -> None:
        topics = await self.bot.catalog.topics()
        if not topics:
            raise UserFacingError("The news index is empty: no articles have been loaded yet.")
        pages = [topics[i : i + TOPICS_PER_PAGE] for i in range(0, len(topics), TOPICS_PER_PAGE)]
        embeds = [topics_embed(page, number, len(pages)) for number, page in enumerate(pages, 1)]
        for index, message in enumerate(pack_embeds(embeds)):
            if index == 0:
                await interaction.response.send_message(embeds=message, ephemeral=True)
            else:
                await interaction.followup.send(embeds=message, ephemeral=True)

    @app_commands.command(name="search", description="Search the AI news by words")
    @app_commands.describe(
        query="Words to look for in titles, excerpts, providers and topics",
        count="How many articles (1-10, default 5)",
        private="Show the articles only to you (nothing is recorded)",
    )
    async def search(
        self,
        interaction: Interaction,
        query: app_commands.Range[str, 1, 300],
        count: Count = DEFAULT_COUNT,
        private: bool = False,
    ) -> None:
        if not search_words(query):
            raise UserFacingError("Type a word or two to search for, such as `robot laundry`.")
        assert interaction.channel_id is not None
        async with (
            deferred_if_slow(interaction, ephemeral=private),
            self.bot.posting_locks.for_channel(interaction.channel_id),
        ):
            found = await self.bot.catalog.search(query, limit=count)
            if not found:
                shown = discord.utils.escape_markdown(query.strip()[:100])
                raise UserFacingError(f"No articles match “{shown}”. Try fewer or other words.")
            await post_articles(interaction, found, private=private, more=None)


async def show_newest(
    interaction: Interaction,
    topic: TopicStats | None,
    count: int,
    *,
    include_seen: bool,
    private: bool,
) -> None:
    """The newest articles of ``topic`` (None: of every topic) not yet seen in the channel, as
    cards, with a More button for the next page; /news, /latest and the More button."""
    bot = interaction.client
    assert interaction.channel_id is not None
    async with (
        deferred_if_slow(interaction, ephemeral=private),
        bot.posting_locks.for_channel(interaction.channel_id),
    ):
        found = await bot.catalog.newest(
            topics=None if topic is None else [topic],
            channel_id=None if include_seen else interaction.channel_id,
            limit=count,
        )
        if not found:
            raise UserFacingError(await caught_up_message(interaction, topic))
        more = None if private else MoreNewsButton.for_topic(topic, count)
        await post_articles(interaction, found, private=private, more=more)


async def caught_up_message(interaction: Interaction, topic: TopicStats | None) -> str:
    assert interaction.channel_id is not None
    seen = await interaction.client.ledger.posted_count(
        interaction.channel_id, topic.key if topic else None
    )
    subject = f"on {topic.name}" if topic else ""
    command = f"/news topic:{topic.name}" if topic else "/latest"
    if not seen:
        return f"There are no articles {subject or 'yet'}."
    return (
        f"You're caught up {subject or 'on everything'}: {seen} article"
        f"{'s were' if seen != 1 else ' was'} already posted in this channel. "
        f"Use `{command} include_seen:True` to see them again."
    )


class MoreNewsButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"news:more:(?P<count>\d+):(?P<topic>.+)",
):
    """Posts the next page of unseen articles. Its custom id carries the topic and page size,
    so buttons posted before a restart keep working (registered in ``setup_hook``)."""

    def __init__(self, topic_token: str, count: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="More",
                style=discord.ButtonStyle.secondary,
                custom_id=f"news:more:{count}:{topic_token}",
            )
        )
        self.topic_token = topic_token
        self.count = count

    @classmethod
    def for_topic(cls, topic: TopicStats | None, count: int) -> MoreNewsButton:
        return cls(topic_token(topic), count)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> MoreNewsButton:
        return cls(match["topic"], int(match["count"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        # discord.py only logs what a button's callback raises (the command tree's on_error is for
        # commands), which would leave the member with "This interaction failed": answer here.
        try:
            topic = await topic_from_token(interaction.client.catalog, self.topic_token)
            count = max(1, min(self.count, 10))
            await show_newest(interaction, topic, count, include_seen=False, private=False)
        except UserFacingError as error:
            await reply_privately(interaction, str(error))
        except Exception:
            log.exception("the More button %s failed", self.custom_id)
            await reply_privately(interaction, UNEXPECTED_ERROR_REPLY)


def topic_token(topic: TopicStats | None) -> str:
    """The topic as it goes into a custom id (at most 100 characters in all): its key, or a
    checksum of a very long key."""
    if topic is None:
        return ALL_TOPICS
    if len(topic.key) <= 80:
        return topic.key
    return f"#{zlib.crc32(topic.key.encode()):08x}"


async def topic_from_token(catalog: NewsCatalog, token: str) -> TopicStats | None:
    if token == ALL_TOPICS:
        return None
    for topic in await catalog.topics():
        if topic_token(topic) == token:
            return topic
    raise UserFacingError("That topic has no articles any more. /topics lists the current ones.")


async def post_articles(
    interaction: Interaction,
    found: Sequence[StoredArticle],
    *,
    private: bool,
    more: MoreNewsButton | None,
) -> None:
    """Send the cards (several messages if Discord's limits ask for it, a video in a message
    of its own with its link in the content) and record public ones."""
    bot = interaction.client
    messages = pack_cards([item.article for item in found])
    start = 0
    for index, card_message in enumerate(messages):
        shown = found[start : start + card_message.count]
        start += card_message.count
        send: dict[str, Any] = {
            "embeds": card_message.embeds,
            "ephemeral": private,
            "allowed_mentions": NO_MENTIONS,
        }
        if card_message.video_url is not None:
            send["content"] = with_video_link("", card_message.video_url)
        if more is not None and index == len(messages) - 1:
            view = discord.ui.View(timeout=None)
            view.add_item(more)
            send["view"] = view
        message_id = await send_answer(interaction, **send)
        if not private and message_id is not None and interaction.channel_id is not None:
            await bot.ledger.record_posted(
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id,
                message_id=message_id,
                articles=[PostedArticle(i.article.id, i.story_id) for i in shown],
                source="command",
                posted_at=bot.clock(),
            )


def topics_embed(topics: Sequence[TopicStats], page: int, pages: int) -> discord.Embed:
    lines = [
        f"**{discord.utils.escape_markdown(t.name)}** — {t.article_count} article"
        f"{'s' if t.article_count != 1 else ''}"
        + (f", newest {discord.utils.format_dt(t.newest, 'D')}" if t.newest else "")
        for t in topics
    ]
    title = "Topics" if pages == 1 else f"Topics ({page}/{pages})"
    return discord.Embed(title=title, description="\n".join(lines))


async def setup(bot: NewsBot) -> None:
    bot.add_dynamic_items(MoreNewsButton)
    await bot.add_cog(NewsCommands(bot))
