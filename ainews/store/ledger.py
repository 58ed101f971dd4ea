"""The posting ledger: which article went to which channel, in which message, from where.

A row is written only after Discord accepted the message. What counts as "already posted" is the
story: an article is seen in a channel when any article of its current story was posted there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ainews.store.database import Database, Transaction, to_timestamp

PostSource = Literal["command", "digest"]


@dataclass(frozen=True, slots=True)
class PostedArticle:
    article_id: str
    story_id: str


async def insert_posted(
    db: Transaction,
    *,
    guild_id: int | None,
    channel_id: int,
    message_id: int,
    articles: Sequence[PostedArticle],
    source: PostSource,
    posted_at: datetime,
) -> None:
    """Write the ledger rows of one accepted message, inside the caller's transaction (the one
    place that writes the ledger: commands through :meth:`Ledger.record_posted`, digests with
    their delivery's progress)."""
    when = to_timestamp(posted_at)
    await db.executemany(
        "INSERT INTO ledger (guild_id, channel_id, message_id, article_id, story_id,"
        " source, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (guild_id, channel_id, message_id, a.article_id, a.story_id, source, when)
            for a in articles
        ],
    )


class Ledger:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def record_posted(
        self,
        *,
        guild_id: int | None,
        channel_id: int,
        message_id: int,
        articles: Sequence[PostedArticle],
        source: PostSource,
        posted_at: datetime,
    ) -> None:
        """Record that ``message_id`` in ``channel_id`` carried ``articles``."""
        async with self.database.transaction() as db:
            await insert_posted(
                db,
                guild_id=guild_id,
                channel_id=channel_id,
                message_id=message_id,
                articles=articles,
                source=source,
                posted_at=posted_at,
            )

    async def posted_count(self, channel_id: int, topic_key: str | None = None) -> int:
        """How many distinct articles were posted in the channel (of one topic, if given)."""
        if topic_key is None:
            sql = "SELECT count(DISTINCT article_id) FROM ledger WHERE channel_id = ?"
            params: tuple[object, ...] = (channel_id,)
        else:
            sql = (
                "SELECT count(DISTINCT l.article_id) FROM ledger AS l JOIN article_topics AS t"
                " ON t.article_id = l.article_id AND t.topic_key = ? WHERE l.channel_id = ?"
            )
            params = (topic_key, channel_id)
        return int(await self.database.fetchval(sql, params) or 0)
