"""Reading the news: newest articles by topic, full-text search, and topic statistics.

Queries exclude withdrawn articles. With a ``channel_id`` they also exclude stories already
posted in that channel (see :mod:`ainews.store.ledger`), and a page never holds two articles of one
story.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ainews.corpus.article import Article, article_from_json
from ainews.store.database import Database, from_timestamp
from ainews.store.search_vectors import search_lexemes, tsquery_text

MAX_SEARCH_TERMS = 12
#: How many newest-first index entries cost as much as one article row (bench/RESULTS.md).
_ROW_VS_ENTRY = 8
#: Search relevance: title weighs most, then topics, excerpt and provider.
_BM25 = "bm25(articles_fts, 10.0, 3.0, 2.0, 5.0)"
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


def search_words(query: str) -> list[str]:
    """The words of what a member typed (at most MAX_SEARCH_TERMS): runs of letters and digits.
    Nothing else survives, so nothing typed is query syntax on either engine: quotes,
    ``AND``/``OR``/``NOT``, ``*``, ``NEAR(``, ``column:``, ``&|!()`` are all just separators."""
    return _SEARCH_TERM.findall(query)[:MAX_SEARCH_TERMS]


def fts5_expression(words: Sequence[str]) -> str:
    """SQLite's FTS5 MATCH expression: every word a quoted string, ANDed; the last one also
    matches as a prefix, so a half-typed word still finds something."""
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
            # Counted per topic, then named: the rows come grouped by topic from article_topics'
            # key (or, where article_topics is also indexed by article, the active articles come
            # from the newest-first index), with no sort of every (topic, article) pair.
            rows = await self.database.fetch(
                "SELECT tp.key, tp.name, c.articles, c.newest FROM (SELECT t.topic_key AS key,"
                " count(*) AS articles, max(a.published_at) AS newest FROM article_topics AS t"
                " JOIN articles AS a ON a.id = t.article_id WHERE a.active = 1"
                " GROUP BY t.topic_key) AS c JOIN topics AS tp ON tp.key = c.key"
                " ORDER BY c.articles DESC, tp.name"
            )
            topics = [
                TopicStats(key, name, count, from_timestamp(newest))
                for key, name, count, newest in rows
            ]
            self._active_articles = int(
                await self.database.fetchval("SELECT count(*) FROM articles WHERE active = 1") or 0
            )
            self._topics = topics
        return self._topics

    async def topic(self, name: str) -> TopicStats | None:
        key = name.strip().casefold()
        return next((topic for topic in await self.topics() if topic.key == key), None)

    async def newest(
        self,
        *,
        topics: Sequence[TopicStats] | None,
        channel_id: int | None,
        limit: int,
    ) -> list[StoredArticle]:
        """The newest active articles (of any of ``topics``; None: of every topic), not yet
        posted in ``channel_id``, one per story. /news asks for one topic, /latest for all, a
        digest for its channel's topics."""
        if topics is not None and not topics:
            return []
        where = " AND a.active = 1"
        if channel_id is not None:
            where += UNSEEN_IN_CHANNEL
        wanted = limit * 2 + 4  # room for articles of stories already on the page
        params: dict[str, object] = {"channel": channel_id, "limit": wanted}
        keys = {f"t{number}": topic.key for number, topic in enumerate(topics or ())}
        params.update(keys)
        in_topics = f"t.topic_key IN ({', '.join(':' + name for name in keys)})"
        if topics is None:
            sql = f"SELECT a.data, a.story_id FROM articles AS a WHERE a.active = 1{where}"
        elif await self._rows_first(topics, in_topics, params, wanted):
            # An article of several of the topics comes once per topic: DISTINCT keeps one.
            distinct = "DISTINCT " if len(topics) > 1 else ""
            sql = (
                f"SELECT {distinct}a.data, a.story_id, a.published_at, a.id"
                " FROM article_topics AS t CROSS JOIN articles AS a"
                f" ON a.id = t.article_id WHERE {in_topics}{where}"
            )
        else:
            sql = (
                "SELECT a.data, a.story_id FROM articles AS a WHERE a.active = 1 AND EXISTS"
                f" (SELECT 1 FROM article_topics AS t WHERE {in_topics}"
                f" AND t.article_id = a.id){where}"
            )
        sql += " ORDER BY a.published_at DESC, a.id LIMIT :limit"
        return _page(await self._rows(sql, params), limit)

    async def _rows_first(
        self,
        topics: Sequence[TopicStats],
        in_topics: str,
        params: dict[str, object],
        rows: int,
    ) -> bool:
        """Whether to fetch the ``topics``' rows first and sort them, rather than walk the
        newest-first index checking each article for the topics, to find the newest ``rows``
        (the one place that chooses this plan, for /news and digests alike).

        Fetching the rows first reads one article row per topic article (a page each). A walk
        reads index entries only (migration 0003), ``_ROW_VS_ENTRY`` times cheaper each, but
        about ``active / article_count`` of them per article it finds or skips, and it skips the
        stories already posted in the channel (measured: bench/RESULTS.md).
        """
        if self._topics is None:
            await self.topics()
        count = sum(topic.article_count for topic in topics)
        active = max(self._active_articles, 1)
        rows_first = _ROW_VS_ENTRY * count * count
        if rows_first <= rows * active or params["channel"] is None:
            return rows_first <= rows * active
        if rows_first > (count + rows) * active:  # a walk is cheaper even past every one posted
            return False
        # Articles of the topics posted in the channel, counted up to where rows first win.
        enough = -(-rows_first // active) - rows
        posted = await self.database.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM ledger AS l JOIN article_topics AS t"
            f" ON {in_topics} AND t.article_id = l.article_id"
            " WHERE l.channel_id = :channel LIMIT :enough) AS posted",
            {**params, "enough": enough},
        )
        return int(posted) >= enough

    async def search(self, query: str, *, limit: int) -> list[StoredArticle]:
        """Best matches for ``query`` (title weighs most), newest first on ties."""
        words = search_words(query)
        if not words:
            return []
        wanted = limit * 2 + 4
        if self.database.engine == "postgresql":
            # The words as the search vectors hold them: folded before they are split.
            query_text = tsquery_text(search_lexemes(query)[:MAX_SEARCH_TERMS])
            if not query_text:
                return []
            found = await self._rows(
                "SELECT a.data, a.story_id FROM articles AS a, CAST(:query AS tsquery) AS q"
                " WHERE a.search_vector @@ q AND a.active = 1"
                " ORDER BY ts_rank(a.search_vector, q) DESC, a.published_at DESC, a.id"
                " LIMIT :limit",
                {"query": query_text, "limit": wanted},
            )
            return _page(found, limit)
        expression = fts5_expression(words)
        # The best-scored matches come from the full-text index alone, and only their article
        # rows are read: ranking every match with its row reads a row per match (bench/RESULTS.md).
        window = wanted * 2 + 16
        ranked = await self.database.fetch(
            "SELECT a.data, a.story_id, a.active, r.score FROM (SELECT rowid AS seq,"
            f" {_BM25} AS score FROM articles_fts WHERE articles_fts MATCH :match"
            " ORDER BY score LIMIT :window) AS r LEFT JOIN articles AS a ON a.seq = r.seq"
            " ORDER BY r.score, a.published_at DESC",
            {"match": expression, "window": window},
        )
        # Matches outside the window score no better than its last row: the rows that score
        # better are exactly the best matches. Too few active ones among them (withdrawn
        # articles, ties): rank every match.
        last = ranked[-1][3] if len(ranked) == window else None
        found = [
            (data, story_id)
            for data, story_id, active, score in ranked
            if active and (last is None or score < last)
        ]
        if len(found) < wanted and last is not None:
            found = await self._rows(
                "SELECT a.data, a.story_id FROM articles_fts AS f JOIN articles AS a"
                " ON a.seq = f.rowid WHERE articles_fts MATCH :match AND a.active = 1"
                f" ORDER BY {_BM25}, a.published_at DESC"
                " LIMIT :limit",
                {"match": expression, "limit": wanted},
            )
        return _page(found[:wanted], limit)

    async def _rows(self, sql: str, params: dict[str, object]) -> list[tuple[str, str]]:
        """``(data, story_id)``, the first two columns of each row of ``sql``."""
        return [(row[0], row[1]) for row in await self.database.fetch(sql, params)]


def _page(rows: list[tuple[str, str]], limit: int) -> list[StoredArticle]:
    """The first ``limit`` rows of distinct stories, as articles (only those are decoded)."""
    stories: set[str] = set()
    page: list[StoredArticle] = []
    for data, story_id in rows:
        if len(page) == limit:
            break
        if story_id not in stories:
            stories.add(story_id)
            page.append(StoredArticle(article_from_json(data), story_id))
    return page
