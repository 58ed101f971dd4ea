"""Articles in the store: what ingest writes, and the queries the bot reads them with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import NamedTuple

from bot.corpus.article import Article, article_to_json
from bot.corpus.urls import url_key
from bot.store.database import Database


class ArticleRecord(NamedTuple):
    """An article flattened for the store; built in the parsing workers, cheap to pickle."""

    id: str
    title: str
    excerpt: str
    provider_name: str
    topics: tuple[str, ...]
    published_at: int | None
    url_keys: tuple[int, ...]
    related_url_keys: tuple[int, ...]
    data: str

    @classmethod
    def from_article(cls, article: Article) -> ArticleRecord:
        return cls(
            id=article.id,
            title=article.title,
            excerpt=article.excerpt,
            provider_name=article.provider.name if article.provider else "",
            topics=article.topics,
            published_at=int(article.published_at.timestamp()) if article.published_at else None,
            url_keys=tuple({url_key(u) for u in article.urls}),
            related_url_keys=tuple({url_key(u) for item in article.related for u in item.urls}),
            data=article_to_json(article),
        )


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """One corpus file as ingest saw it: holding an article, or rejected with a reason."""

    path: str
    mtime_ns: int
    size: int
    record: ArticleRecord | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class KnownFile:
    mtime_ns: int
    size: int
    error: str | None


class ArticleRepository:
    """All SQL about articles and the files they come from."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def known_files(self, root: str) -> dict[str, KnownFile]:
        """Files recorded under ``root`` (a folder's absolute path, or one file's)."""
        prefix = root.rstrip("/") + "/"
        async with self.database.connection.execute(
            "SELECT path, mtime_ns, size, error FROM source_files"
            " WHERE path = ? OR (path >= ? AND path < ?)",
            (root, prefix, prefix[:-1] + "0"),
        ) as cursor:
            return {row[0]: KnownFile(row[1], row[2], row[3]) for row in await cursor.fetchall()}

    async def save_files(self, outcomes: Sequence[FileOutcome]) -> None:
        """Record parsed files and their articles in one transaction (all or nothing)."""
        records = {o.record.id: o.record for o in outcomes if o.record is not None}
        async with self.database.transaction() as db:
            replaced = await self._article_ids_of([o.path for o in outcomes])
            await db.executemany(
                "INSERT INTO source_files (path, mtime_ns, size, article_id, error)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET"
                " mtime_ns = excluded.mtime_ns, size = excluded.size,"
                " article_id = excluded.article_id, error = excluded.error",
                sorted(  # in path order: the order of the index by path (a stable sort)
                    (
                        (o.path, o.mtime_ns, o.size, o.record.id if o.record else None, o.error)
                        for o in outcomes
                    ),
                    key=itemgetter(0),
                ),
            )
            if records:
                await self._upsert_articles(records.values())
            await self._refresh_active(replaced - records.keys())

    async def forget_files(self, paths: Sequence[str]) -> int:
        """Drop files that are gone; returns how many articles that withdrew from queries."""
        if not paths:
            return 0
        async with self.database.transaction() as db:
            affected = await self._article_ids_of(paths)
            await db.executemany("DELETE FROM source_files WHERE path = ?", [(p,) for p in paths])
            return await self._refresh_active(affected)

    async def regroup_stories(self) -> None:
        """Group each article with the corpus articles its related coverage names (one story).

        A story is a connected group; its id is the smallest article id in it, so it is stable
        while the group is. Withdrawn articles keep their place, so posting history still dedupes.
        """
        async with self.database.transaction() as db:
            async with db.execute(
                "SELECT r.article_id, u.article_id FROM article_related AS r"
                " JOIN article_urls AS u USING (url_key) WHERE u.article_id <> r.article_id"
            ) as cursor:
                links = await cursor.fetchall()
            story_of = {
                a: s for a, s in _connected_groups((a, b) for a, b in links).items() if a != s
            }
            async with db.execute(
                "SELECT id, story_id FROM articles WHERE story_id <> id"
            ) as cursor:
                stored: dict[str, str] = {a: s for a, s in await cursor.fetchall()}
            # Only the articles whose story changed are written.
            await db.executemany(
                "UPDATE articles SET story_id = ? WHERE id = ?",
                [
                    (story, article)
                    for article, story in story_of.items()
                    if stored.get(article) != story
                ]
                + [(article, article) for article in stored if article not in story_of],
            )

    async def count_active(self) -> int:
        async with self.database.connection.execute(
            "SELECT count(*) FROM articles WHERE active"
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _article_ids_of(self, paths: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            marks = ",".join("?" * len(chunk))
            async with self.database.connection.execute(
                f"SELECT article_id FROM source_files WHERE path IN ({marks})"
                " AND article_id IS NOT NULL",
                chunk,
            ) as cursor:
                found.update(row[0] for row in await cursor.fetchall())
        return found

    async def _refresh_active(self, article_ids: Iterable[str]) -> int:
        """Set ``active`` from whether any file still holds the article; returns how many went."""
        withdrawn = 0
        db = self.database.connection
        for article_id in article_ids:
            cursor = await db.execute(
                "UPDATE articles SET active = 0 WHERE id = ? AND active AND NOT EXISTS"
                " (SELECT 1 FROM source_files WHERE article_id = ?)",
                (article_id, article_id),
            )
            withdrawn += cursor.rowcount
        return withdrawn

    async def _upsert_articles(self, records: Iterable[ArticleRecord]) -> None:
        """Insert or replace articles with their URLs, related coverage, topics and full text.

        Rows go in in key order: the keys are random, so that makes each statement visit every
        index page it changes once, in order (writes to URLs stay stable in batch order, since
        the last article naming a URL takes it).
        """
        db = self.database.connection
        in_batch_order = list(records)
        rows = sorted(in_batch_order, key=attrgetter("id"))
        first_names: dict[str, str] = {}  # display name as first seen, in this batch too
        for topic in (topic for r in in_batch_order for topic in r.topics):
            first_names.setdefault(topic.casefold(), topic)
        await db.execute("CREATE TEMP TABLE IF NOT EXISTS batch (id TEXT PRIMARY KEY)")
        await db.execute("DELETE FROM temp.batch")
        await db.executemany(
            "INSERT OR IGNORE INTO temp.batch (id) VALUES (?)", [(r.id,) for r in rows]
        )
        # Articles already stored: take their old text out of the index, and their links. URLs
        # and topics are not indexed by article (see the schema), so this scans them: only
        # when some are stored, which a first ingest never meets.
        async with db.execute(
            "SELECT EXISTS (SELECT 1 FROM temp.batch CROSS JOIN articles USING (id))"
        ) as cursor:
            row = await cursor.fetchone()
        if row is not None and row[0]:
            await db.execute(
                "INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, provider_name,"
                " topics_text) SELECT 'delete', seq, title, excerpt, provider_name, topics_text"
                " FROM temp.batch CROSS JOIN articles USING (id)"
            )
            for table in ("article_urls", "article_related", "article_topics"):
                await db.execute(f"DELETE FROM {table} WHERE article_id IN temp.batch")
        await db.executemany(
            "INSERT INTO articles (id, story_id, active, title, excerpt, provider_name,"
            " topics_text, published_at, data) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET active = 1, title = excluded.title,"
            " excerpt = excluded.excerpt, provider_name = excluded.provider_name,"
            " topics_text = excluded.topics_text, published_at = excluded.published_at,"
            " data = excluded.data",
            [
                (
                    r.id,
                    r.id,
                    r.title,
                    r.excerpt,
                    r.provider_name,
                    " · ".join(r.topics),
                    r.published_at,
                    r.data,
                )
                for r in rows
            ],
        )
        await db.execute(
            "INSERT INTO articles_fts (rowid, title, excerpt, provider_name, topics_text)"
            " SELECT seq, title, excerpt, provider_name, topics_text"
            " FROM temp.batch CROSS JOIN articles USING (id)"
        )
        await db.executemany(
            "INSERT OR REPLACE INTO article_urls (url_key, article_id) VALUES (?, ?)",
            sorted(((key, r.id) for r in in_batch_order for key in r.url_keys), key=itemgetter(0)),
        )
        await db.executemany(
            "INSERT OR IGNORE INTO article_related (article_id, url_key) VALUES (?, ?)",
            sorted((r.id, key) for r in rows for key in r.related_url_keys),
        )
        await db.executemany(
            "INSERT OR IGNORE INTO topics (key, name) VALUES (?, ?)", list(first_names.items())
        )
        await db.executemany(
            "INSERT OR IGNORE INTO article_topics (topic_key, article_id) VALUES (?, ?)",
            sorted((topic.casefold(), r.id) for r in rows for topic in r.topics),
        )


def _connected_groups(links: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Union-find: each linked article mapped to the smallest id of its connected group."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {node: root(node) for node in parent}
