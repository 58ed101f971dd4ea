"""Reading the news: newest articles by topic, full-text search, and topic statistics.

Queries exclude withdrawn articles. With a ``channel_id`` they also exclude stories already
posted in that channel (see :mod:`bot.store.ledger`), and a page never holds two articles of one
story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.corpus.article import Article, article_from_json
from bot.store.database import Database

#: Digest composition: below this many articles of its topics their rows are fetched first and
#: sorted; above, the newest-first index is walked and each article checked for the topics.
TOPIC_FIRST_BELOW = 2_000
MAX_SEARCH_TERMS = 12
_SEARCH_TERM = re.compile(r"\w+", re.UNICODE)

#: Not yet posted in the channel: no article of the same story is in its ledger, nor planned by
#: a digest delivery still in progress there.
UNSEEN_IN_CHANNEL = (
    " AND NOT EXISTS (SELECT 1 FROM articles AS s CROSS JOIN ledger AS l"
    " ON l.channel_id = :channel AND l.article_id = s.id WHERE s.story_id = a.story_id)"
    " AND NOT EXISTS (SELECT 1 FROM deliveries AS d CROSS JOIN delivery_items AS i"
    " ON i.delivery_id = d.id WHERE d.channel_id = :channel AND d.state = 'pending'"
    " AND i.story_id = a.story_id)"
)


@dataclass(frozen=True, slots=True)
class StoredArticle:
    article: Article
    story_id: str


@dataclass(frozen=True, slots=True)
class TopicStats:
    key: str
    name: str
    article_count: int
    newest: datetime | None


def search_expression(query: str) -> str | None:
    """An FTS5 MATCH expression for what a member typed, or None when it has no words.

    Every word becomes a quoted string, so nothing the member types is FTS5 syntax: quotes,
    ``AND``/``OR``/``NOT``, ``*``, ``NEAR(``, ``column:`` are all just text. Words are ANDed; the
    last one also matches as a prefix, so a half-typed word still finds something.
    """
    words = _SEARCH_TERM.findall(query)[:MAX_SEARCH_TERMS]
    if not words:
        return None
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


class NewsCatalog:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._topics: list[TopicStats] | None = None
        self._active_articles = 0

    def forget_cached_topics(self) -> None:
        """Call after the corpus changed: topic counts are computed again on next use."""
        self._topics = None

    async def topics(self) -> list[TopicStats]:
        """Every topic with active articles, busiest first (cached until the corpus changes)."""
        if self._topics is None:
            # Active articles from the newest-first index, then their topics: no article rows.
            async with self.database.connection.execute(
                "SELECT tp.key, tp.name, c.articles, c.newest FROM (SELECT t.topic_key AS key,"
                " count(*) AS articles, max(a.published_at) AS newest FROM articles AS a"
                " CROSS JOIN article_topics AS t ON t.article_id = a.id WHERE a.active = 1"
                " GROUP BY t.topic_key) AS c JOIN topics AS tp ON tp.key = c.key"
                " ORDER BY c.articles DESC, tp.name"
            ) as cursor:
                topics = [
                    TopicStats(key, name, count, _from_timestamp(newest))
                    for key, name, count, newest in await cursor.fetchall()
                ]
            async with self.database.connection.execute(
                "SELECT count(*) FROM articles WHERE active = 1"
            ) as cursor:
                row = await cursor.fetchone()
            self._active_articles = int(row[0]) if row else 0
            self._topics = topics
        return self._topics

    async def topic(self, name: str) -> TopicStats | None:
        key = name.strip().casefold()
        return next((topic for topic in await self.topics() if topic.key == key), None)

    async def newest(
        self,
        *,
        topic: TopicStats | None,
        channel_id: int | None,
        limit: int,
    ) -> list[StoredArticle]:
        """The newest active articles (of ``topic``), not yet posted in ``channel_id``."""
        where = " AND a.active"
        if channel_id is not None:
            where += UNSEEN_IN_CHANNEL
        params: dict[str, object] = {"channel": channel_id, "limit": limit * 2 + 4}
        if topic is None:
            sql = f"SELECT a.data, a.story_id FROM articles AS a WHERE a.active = 1{where}"
        elif await self._rows_first(topic):
            sql = (
                "SELECT a.data, a.story_id FROM article_topics AS t CROSS JOIN articles AS a"
                f" ON a.id = t.article_id WHERE t.topic_key = :topic{where}"
            )
            params["topic"] = topic.key
        else:
            sql = (
                "SELECT a.data, a.story_id FROM articles AS a WHERE a.active = 1 AND EXISTS"
                " (SELECT 1 FROM article_topics AS t WHERE t.topic_key = :topic"
                f" AND t.article_id = a.id){where}"
            )
            params["topic"] = topic.key
        sql += " ORDER BY a.published_at DESC, a.id LIMIT :limit"
        return one_per_story(await self._fetch(sql, params), limit)

    async def _rows_first(self, topic: TopicStats) -> bool:
        """Whether /news should fetch ``topic``'s rows first rather than walk the newest-first
        index and check each article for the topic.

        A walk reads about ``limit * active / article_count`` index entries (migration 0003 makes
        them all it reads); fetching the rows first reads one article row per topic article, a
        page each. On 100,000 articles both cost about 2 ms at 300 articles (a walk costs 12 ms at
        100, rows first 10 ms at 1,900): rows first while ``article_count`` is below the square
        root of the active articles.
        """
        if self._topics is None:
            await self.topics()
        return topic.article_count**2 < self._active_articles

    async def search(self, query: str, *, limit: int) -> list[StoredArticle]:
        """Best matches for ``query`` by bm25 (title weighs most), newest first on ties."""
        expression = search_expression(query)
        if expression is None:
            return []
        sql = (
            "SELECT a.data, a.story_id FROM articles_fts AS f JOIN articles AS a"
            " ON a.seq = f.rowid WHERE articles_fts MATCH :match AND a.active"
            " ORDER BY bm25(articles_fts, 10.0, 3.0, 2.0, 5.0), a.published_at DESC"
            " LIMIT :limit"
        )
        return one_per_story(
            await self._fetch(sql, {"match": expression, "limit": limit * 2 + 4}), limit
        )

    async def _fetch(self, sql: str, params: dict[str, object]) -> list[StoredArticle]:
        async with self.database.connection.execute(sql, params) as cursor:
            rows = await cursor.fetchall()
        return [StoredArticle(article_from_json(data), story_id) for data, story_id in rows]


def one_per_story(found: list[StoredArticle], limit: int) -> list[StoredArticle]:
    stories: set[str] = set()
    page = []
    for item in found:
        if item.story_id not in stories:
            stories.add(item.story_id)
            page.append(item)
    return page[:limit]


def _from_timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None
