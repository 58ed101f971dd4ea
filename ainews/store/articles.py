"""Articles in the store: what ingest writes, and the queries the bot reads them with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter, itemgetter
from typing import NamedTuple, cast

from ainews.corpus.article import Article, article_to_json, card_changed, indexed_fields_from_json
from ainews.corpus.scan import KnownFile
from ainews.corpus.urls import url_key
from ainews.store.database import Database, Row, Transaction, to_timestamp
from ainews.store.search_vectors import article_search_vector


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
    data: bytes  #: the article as JSON (UTF-8), stored as text
    #: PostgreSQL's search vector, in its binary form (see ``ArticleRepository.search_vectors``).
    search_vector: bytes | None = None

    @classmethod
    def from_article(cls, article: Article, *, with_search_vector: bool = False) -> ArticleRecord:
        provider_name = article.provider.name if article.provider else ""
        return cls(
            id=article.id,
            title=article.title,
            excerpt=article.excerpt,
            provider_name=provider_name,
            topics=article.topics,
            published_at=to_timestamp(article.published_at) if article.published_at else None,
            url_keys=tuple({url_key(u) for u in article.urls}),
            related_url_keys=tuple({url_key(u) for item in article.related for u in item.urls}),
            data=article_to_json(article),
            search_vector=article_search_vector(
                article.title, article.excerpt, provider_name, article.topics
            )
            if with_search_vector
            else None,
        )


class FileOutcome(NamedTuple):
    """One corpus file as ingest saw it: holding an article, or rejected with a reason (a tuple:
    ingest makes one per file; parsing workers send it back as a plain tuple, see
    ``ainews.ingest._parse_to_send``)."""

    path: str
    mtime_ns: int
    size: int
    record: ArticleRecord | None = None
    error: str | None = None
    #: What validation dropped from the article (a bad image, say), one line each.
    warnings: tuple[str, ...] = ()


#: Saved articles at most for which regrouping reads only the stories around them; past this,
#: reading every link is cheaper (bench/RESULTS.md).
REGROUP_AROUND_AT_MOST = 2_000
#: Queued for regrouping instead of article ids: every story (article ids are hex, and this sorts
#: before them).
_EVERY_STORY = "*"
#: The tables a large save changes in bulk (``Database.refresh_statistics``).
BULK_TABLES = (
    "source_files",
    "articles",
    "article_urls",
    "article_related",
    "topics",
    "article_topics",
    "repointed_articles",
)
_OWNERS_OF = "SELECT url_key, article_id FROM article_urls WHERE url_key IN ({})"
_LISTERS_OF = "SELECT url_key, article_id FROM article_related WHERE url_key IN ({})"


class ArticleRepository:
    """All SQL about articles and the files they come from."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def search_vectors(self) -> bool:
        """Whether records must carry their search vector: PostgreSQL stores the vector the
        parsing workers build (``ainews.store.search_vectors``); SQLite's full-text index is
        kept by SQLite from the text."""
        return self.database.engine == "postgresql"

    async def known_files(self, root: str) -> dict[str, KnownFile]:
        """Files recorded under ``root`` (a folder's absolute path, or one file's)."""
        prefix = root.rstrip("/") + "/"
        # NOT INDEXED: a rescan reads (nearly) every row, and reading the table in its own order
        # is twice as fast as walking the index by path and looking each row up from it.
        rows = await self.database.fetch(
            "SELECT path, mtime_ns, size, error FROM source_files NOT INDEXED"
            " WHERE path = ? OR (path >= ? AND path < ?)",
            (root, prefix, prefix[:-1] + "0"),
        )
        return {row[0]: cast("KnownFile", tuple(row)) for row in rows}

    async def save_files(self, outcomes: Sequence[FileOutcome]) -> None:
        """Record parsed files and their articles in one transaction (all or nothing).

        A file that now holds another article than before was re-pointed (by a curation tool,
        to another outlet's copy of its story): the two articles are linked into one story for
        good (``repointed_articles``)."""
        records = {o.record.id: o.record for o in outcomes if o.record is not None}
        async with self.database.transaction() as db:
            recorded = await self._recorded_files(db, [o.path for o in outcomes])
            held_before = {path: held for path, held in recorded.items() if held is not None}
            replaced = set(held_before.values())
            repointed = {
                (earlier, o.record.id)
                for o in outcomes
                if o.record is not None
                and (earlier := held_before.get(o.path)) is not None
                and earlier != o.record.id
            }
            if repointed:
                await db.insert_rows(
                    "repointed_articles", ("earlier_id", "later_id"), sorted(repointed)
                )
                # Where the earlier article was posted, the card now shows the later one.
                await db.insert_rows(
                    "cards_changed",
                    ("article_id",),
                    sorted({(earlier,) for earlier, _ in repointed}),
                )
            await db.insert_rows(
                "source_files",
                ("path", "mtime_ns", "size", "article_id", "error"),
                sorted(  # in path order: the order of the index by path (a stable sort)
                    (
                        (o.path, o.mtime_ns, o.size, o.record.id if o.record else None, o.error)
                        for o in outcomes
                    ),
                    key=itemgetter(0),
                ),
                on_conflict="(path) DO UPDATE SET"
                " mtime_ns = excluded.mtime_ns, size = excluded.size,"
                " article_id = excluded.article_id, error = excluded.error,"
                " last_article_id ="
                " coalesce(source_files.article_id, source_files.last_article_id)"
                if recorded
                else None,  # every file is new
            )
            if records:
                await self._upsert_articles(db, records.values())
            await self._refresh_active(db, replaced - records.keys())

    async def forget_files(self, paths: Sequence[str]) -> int:
        """Drop files that are gone; returns how many articles that withdrew from queries."""
        if not paths:
            return 0
        async with self.database.transaction() as db:
            affected = {held for held in (await self._recorded_files(db, paths)).values() if held}
            await db.executemany("DELETE FROM source_files WHERE path = ?", [(p,) for p in paths])
            return await self._refresh_active(db, affected)

    async def regroup_stories(self) -> None:
        """Group each article with the corpus articles its related coverage names (one story).

        A story is a connected group: an article is linked to every article owning a URL that
        its related coverage lists, to every article sharing one of its own URLs (its identity
        URL or an alias), and to the articles its file held before or after it (re-pointed).
        Its id is the smallest article id in it, so it is stable while the group is. Withdrawn
        articles keep their place, so posting history still dedupes.
        Only the stories around articles saved since the last regrouping are grouped again
        (all of them after a large ingest, when reading every link is cheaper).
        """
        async with self.database.transaction() as db:
            rows = await db.fetch(
                "SELECT article_id FROM stories_to_regroup ORDER BY article_id LIMIT ?",
                (REGROUP_AROUND_AT_MOST + 1,),
            )
            saved = [article_id for (article_id,) in rows]
            if not saved:
                return
            bulk = len(saved) > REGROUP_AROUND_AT_MOST or saved[0] == _EVERY_STORY
            if bulk:
                stories = await self._stories_of_all(db)
            else:
                stories = await self._stories_around(db, saved)
            await db.executemany(
                "UPDATE articles SET story_id = ? WHERE id = ? AND story_id <> ?",
                sorted(  # in article order: the order of the index the rows are found by
                    ((story, article, story) for article, story in stories.items()),
                    key=itemgetter(1),
                ),
            )
            await db.execute("DELETE FROM stories_to_regroup")
        if bulk:  # a large save: the tables' statistics are out of date
            await self.database.refresh_statistics(BULK_TABLES)

    async def _stories_of_all(self, db: Transaction) -> dict[str, str]:
        """The story of every article whose story is not its own now or was not before."""
        rows = await db.fetch(
            "SELECT r.article_id, u.article_id FROM article_related AS r"
            " JOIN article_urls AS u USING (url_key) WHERE u.article_id <> r.article_id"
            " UNION ALL SELECT earlier_id, later_id FROM repointed_articles"
        )
        links = [(a, b) for a, b in rows]
        # URLs several articles share, read in key order (the table's) with no join.
        for (owners,) in await db.fetch(
            f"SELECT {self.database.group_concat('article_id')} FROM article_urls"
            " GROUP BY url_key HAVING count(*) > 1"
        ):
            first, *others = owners.split("\x1f")
            links += [(first, other) for other in others]
        stories = _connected_groups(links)
        for (article_id,) in await db.fetch("SELECT id FROM articles WHERE story_id <> id"):
            stories.setdefault(article_id, article_id)
        return stories

    async def _stories_around(self, db: Transaction, saved: list[str]) -> dict[str, str]:
        """The stories of the articles that ``saved`` articles' changes can have regrouped.

        Only saving an article changes links: its own (its URLs, its related coverage, the file
        it came from), and those of the articles it shares a URL with. Every such article is
        reached from a saved one through links as they are now, or through stories as they were
        stored. So the
        region closed under both (the whole stored story of every article reached, and every
        article linked to one) holds every story that can have changed, and every other story
        is exactly as stored. It is found breadth first, a few queries a step.
        """
        stored_story: dict[str, str] = {}  # every article of the region: its stored story
        links: list[tuple[str, str]] = []
        seen_keys: set[int] = set()
        reached = set(saved)
        while reached:
            mates: dict[str, str] = {
                article: story
                for article, story in await db.fetch_in(
                    "SELECT id, story_id FROM articles WHERE story_id IN"
                    " (SELECT story_id FROM articles WHERE id IN ({}))",
                    reached,
                )
            }
            new = mates.keys() - stored_story.keys()
            stored_story.update(mates)
            # The URL keys the new articles list, and those they may own (their own URLs:
            # whether they still own one is asked below, with every owner).
            keys: set[int] = set()
            for (data,) in await db.fetch_in("SELECT data FROM articles WHERE id IN ({})", new):
                fields = indexed_fields_from_json(data)
                keys.update(url_key(url) for url in fields.urls + fields.related_urls)
            keys -= seen_keys
            seen_keys |= keys
            owners: dict[int, list[str]] = {}
            for key, owner in await db.fetch_in(_OWNERS_OF, keys):
                owners.setdefault(key, []).append(owner)
            reached = {owner for group in owners.values() for owner in group}
            for first, *others in owners.values():  # a shared URL: one story
                links += [(first, other) for other in others]
            for key, lister in await db.fetch_in(_LISTERS_OF, keys):
                reached.add(lister)
                links += [(lister, owner) for owner in owners.get(key, ()) if owner != lister]
            for column in ("earlier_id", "later_id"):  # one file's articles, one after the other
                for earlier, later in await db.fetch_in(
                    f"SELECT earlier_id, later_id FROM repointed_articles WHERE {column} IN ({{}})",
                    new,
                ):
                    links.append((earlier, later))
                    reached |= {earlier, later}
            reached -= stored_story.keys()
        grouped = _connected_groups(links)
        return {article: grouped.get(article, article) for article in stored_story}

    async def count_active(self) -> int:
        return int(await self.database.fetchval("SELECT count(*) FROM articles WHERE active = 1"))

    async def _recorded_files(self, db: Transaction, paths: Sequence[str]) -> dict[str, str | None]:
        """Those of ``paths`` recorded already, each with the article it holds now, or held
        before it was rejected (None: neither). New files are left out."""
        rows = await db.fetch_in(
            "SELECT path, coalesce(article_id, last_article_id) FROM source_files"
            " WHERE path IN ({})",
            paths,
        )
        return {path: article for path, article in rows}

    async def _refresh_active(self, db: Transaction, article_ids: Iterable[str]) -> int:
        """Set ``active`` from whether any file still holds the article; returns how many went."""
        withdrawn = 0
        for article_id in article_ids:
            withdrawn += await db.execute(
                "UPDATE articles SET active = 0 WHERE id = ? AND active = 1 AND NOT EXISTS"
                " (SELECT 1 FROM source_files WHERE article_id = ?)",
                (article_id, article_id),
            )
        return withdrawn

    async def _upsert_articles(self, db: Transaction, records: Iterable[ArticleRecord]) -> None:
        """Insert or replace articles with their URLs, related coverage, topics and full text.

        Rows go in in key order: the keys are random, so that makes each statement visit every
        index page it changes once, in order. On SQLite the full-text index is kept here; on
        PostgreSQL each row carries its search vector (``ainews.store.search_vectors``). When
        none of the articles is stored yet (a first ingest), every row is new: PostgreSQL copies
        them straight into their tables.
        """
        sqlite = self.database.engine == "sqlite"
        in_batch_order = list(records)
        rows = sorted(in_batch_order, key=attrgetter("id"))
        records_by_id = {r.id: r for r in rows}
        first_names: dict[str, str] = {}  # display name as first seen, in this batch too
        for topic in (topic for r in in_batch_order for topic in r.topics):
            first_names.setdefault(topic.casefold(), topic)
        # Articles already stored: take their old text out of the full-text index, and their
        # URLs, related coverage and topics out of theirs. URLs and topics are not indexed by
        # article (see the schema): their rows are found by key, from the stored article.
        stored: list[Row]
        if sqlite:
            await db.execute("CREATE TEMP TABLE IF NOT EXISTS batch (id TEXT PRIMARY KEY)")
            await db.execute("DELETE FROM temp.batch")
            await db.executemany(
                "INSERT OR IGNORE INTO temp.batch (id) VALUES (?)", [(r.id,) for r in rows]
            )
            stored = await db.fetch(
                "SELECT id, data FROM temp.batch CROSS JOIN articles USING (id)"
            )
            if stored:
                await db.execute(
                    "INSERT INTO articles_fts (articles_fts, rowid, title, excerpt, provider_name,"
                    " topics_text) SELECT 'delete', seq, title, excerpt, provider_name, topics_text"
                    " FROM temp.batch CROSS JOIN articles USING (id)"
                )
        else:
            stored = await db.fetch(
                "SELECT id, data FROM articles WHERE id = ANY(?)", ([r.id for r in rows],)
            )
        if stored:
            await db.insert_rows(
                "cards_changed",
                ("article_id",),
                [
                    (article_id,)
                    for article_id, data in stored
                    if card_changed(data, records_by_id[article_id].data)
                ],
            )
            old_urls, old_related, old_topics = [], [], []
            for article_id, data in stored:
                fields = indexed_fields_from_json(data)
                old_urls += [(url_key(url), article_id) for url in fields.urls]
                old_related += [(url_key(url), article_id) for url in fields.related_urls]
                old_topics += [(topic.casefold(), article_id) for topic in fields.topics]
            await db.executemany(
                "DELETE FROM article_urls WHERE url_key = ? AND article_id = ?", sorted(old_urls)
            )
            await db.executemany(
                "DELETE FROM article_related WHERE url_key = ? AND article_id = ?",
                sorted(old_related),
            )
            await db.executemany(
                "DELETE FROM article_topics WHERE topic_key = ? AND article_id = ?",
                sorted(old_topics),
            )
        columns: tuple[str, ...] = (
            "id",
            "story_id",
            "active",
            "title",
            "excerpt",
            "provider_name",
            "topics_text",
            "published_at",
            "data",
        )
        values: list[tuple[object, ...]] = [
            (
                r.id,
                r.id,
                1,
                r.title,
                r.excerpt,
                r.provider_name,
                " · ".join(r.topics),
                r.published_at,
                r.data.decode(),
            )
            for r in rows
        ]
        updates = (
            "active = 1, title = excluded.title, excerpt = excluded.excerpt,"
            " provider_name = excluded.provider_name, topics_text = excluded.topics_text,"
            " published_at = excluded.published_at, data = excluded.data"
        )
        if not sqlite:
            columns += ("search_vector",)
            values = [(*row, _search_vector_of(r)) for row, r in zip(values, rows, strict=True)]
            updates += ", search_vector = excluded.search_vector"
        # None stored yet (a first ingest): every row below is new, nothing to resolve.
        replacing = f"(id) DO UPDATE SET {updates}" if stored else None
        await db.insert_rows("articles", columns, values, on_conflict=replacing)
        if sqlite:
            await db.execute(
                "INSERT INTO articles_fts (rowid, title, excerpt, provider_name, topics_text)"
                " SELECT seq, title, excerpt, provider_name, topics_text"
                " FROM temp.batch CROSS JOIN articles USING (id)"
            )
        await self._queue_for_regrouping(db, rows)  # before their URLs replace others' below
        # A record's URL keys and related keys are sets; two of its topics may fold alike.
        linked = "DO NOTHING" if stored else None
        await db.insert_rows(
            "article_urls",
            ("url_key", "article_id"),
            sorted((key, r.id) for r in rows for key in r.url_keys),
            on_conflict=linked,
        )
        await db.insert_rows(
            "article_related",
            ("url_key", "article_id"),
            sorted((key, r.id) for r in rows for key in r.related_url_keys),
            on_conflict=linked,
        )
        await db.insert_rows("topics", ("key", "name"), list(first_names.items()))
        await db.insert_rows(
            "article_topics",
            ("topic_key", "article_id"),
            sorted({(topic.casefold(), r.id) for r in rows for topic in r.topics}),
            on_conflict=linked,
        )

    async def _queue_for_regrouping(self, db: Transaction, records: list[ArticleRecord]) -> None:
        """Queue the stories a save can change: those of the saved articles, and of the articles
        they now share a URL with. After a large save: every story, one row instead of one an
        article for the whole ingest."""
        every_story = await db.fetchval(
            "SELECT count(*) FROM stories_to_regroup WHERE article_id = ?", (_EVERY_STORY,)
        )
        if every_story or len(records) > REGROUP_AROUND_AT_MOST:
            await db.insert_rows("stories_to_regroup", ("article_id",), [(_EVERY_STORY,)])
            return
        saved = {record.id for record in records}
        owners = await db.fetch_in(_OWNERS_OF, {key for r in records for key in r.url_keys})
        await db.insert_rows(
            "stories_to_regroup",
            ("article_id",),
            [(article,) for article in sorted(saved | {owner for _, owner in owners})],
        )


def _search_vector_of(record: ArticleRecord) -> bytes:
    """The record's search vector: as the parsing worker built it, else built now."""
    if record.search_vector is not None:
        return record.search_vector
    return article_search_vector(record.title, record.excerpt, record.provider_name, record.topics)


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
