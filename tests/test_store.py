"""The SQLite store: connection settings, schema migrations, and the article repository."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ainews.corpus.article import article_from_json
from ainews.corpus.files import parse_article_bytes
from ainews.corpus.urls import article_id_for, url_key
from ainews.ingest import ingest_corpus
from ainews.store import articles as articles_module
from ainews.store.articles import (
    REGROUP_AROUND_AT_MOST,
    ArticleRecord,
    ArticleRepository,
    FileOutcome,
)
from ainews.store.catalog import NewsCatalog
from ainews.store.database import Database, StoreError, latest_schema_version, migrations
from ainews.store.sqlite import BUSY_TIMEOUT_MS, NEW_DATABASE_PAGE_SIZE

TABLES = {
    "source_files",
    "articles",
    "article_urls",
    "article_related",
    "topics",
    "article_topics",
    "articles_fts",
}


async def rows(database: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await database.fetch(sql, params)]


async def value(database: Database, sql: str, *params: Any) -> Any:
    (row,) = await rows(database, sql, *params)
    return row[0]


def holding(path: str, text: str) -> FileOutcome:
    """The outcome of a file at ``path`` that holds the article in ``text``."""
    record = ArticleRecord.from_article(parse_article_bytes(text.encode()))
    return FileOutcome(path, mtime_ns=1, size=len(text), record=record)


@pytest.fixture
def repository(database: Database) -> ArticleRepository:
    return ArticleRepository(database)


@pytest.fixture
def save(repository: ArticleRepository, article_text: Callable[..., str]):
    """``await save(path, slug, **overrides)``: record one file holding one article; its id."""

    async def save_one(path: str, slug: str | None = None, **overrides: Any) -> str:
        outcome = holding(path, article_text(slug or Path(path).stem, **overrides))
        await repository.save_files([outcome])
        assert outcome.record is not None
        return outcome.record.id

    return save_one


# --------------------------------------------------------------------------- the database


@pytest.mark.sqlite_only
async def test_connection_settings(database: Database) -> None:
    assert await value(database, "PRAGMA journal_mode") == "wal"
    assert await value(database, "PRAGMA busy_timeout") == BUSY_TIMEOUT_MS > 0
    assert await value(database, "PRAGMA foreign_keys") == 1
    assert await value(database, "PRAGMA page_size") == NEW_DATABASE_PAGE_SIZE != 4096


async def test_fresh_database_reaches_the_latest_schema(database: Database) -> None:
    if database.engine == "sqlite":
        names = {row[0] for row in await rows(database, "SELECT name FROM sqlite_master")}
        assert names >= TABLES
    else:
        names = {
            row[0]
            for row in await rows(
                database,
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()",
            )
        }
        assert names >= TABLES - {"articles_fts"}

    assert await database.schema_version() == latest_schema_version(database.engine)


def test_migrations_are_numbered_in_order() -> None:
    versions = [version for version, _, _ in migrations()]

    assert versions == sorted(set(versions))
    assert versions[-1] == latest_schema_version()


async def test_older_database_is_upgraded_in_place(tmp_path: Path) -> None:
    """Everything but the newest migration applied (with one migration: an empty file at 0)."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE kept_by_upgrade (x INTEGER)")
        old.execute("INSERT INTO kept_by_upgrade VALUES (42)")
        applied = migrations()[:-1]
        for _, _, sql in applied:
            old.executescript(sql)
        old.execute(f"PRAGMA user_version = {applied[-1][0] if applied else 0}")
    old.close()

    async with await Database.open(path) as database:
        names = {row[0] for row in await rows(database, "SELECT name FROM sqlite_master")}
        assert await database.schema_version() == latest_schema_version()
        assert names >= TABLES
        assert await value(database, "SELECT x FROM kept_by_upgrade") == 42
        assert await value(database, "PRAGMA page_size") == 4096  # an existing file keeps its own


async def test_upgrade_to_5_keeps_related_links_and_regroups_every_story(
    tmp_path: Path, article_text
) -> None:
    """Migration 5 rebuilds related coverage keyed by URL and queues every article for
    regrouping: a story stored before it is still found from its links."""
    path = tmp_path / "v4.sqlite3"
    hub = holding("/c/hub.md", article_text("hub"))
    spoke = holding(
        "/c/spoke.md",
        article_text("spoke", related=related("https://news.example.com/tech/hub")),
    )
    with sqlite3.connect(path) as old:
        for version, _, sql in migrations():
            if version <= 4:
                old.executescript(sql)
        old.execute("PRAGMA user_version = 4")
        for outcome in (hub, spoke):
            record = outcome.record
            assert record is not None
            old.execute(
                "INSERT INTO articles (id, story_id, title, excerpt, provider_name, topics_text,"
                " data) VALUES (?, ?, ?, '', '', '', ?)",
                (record.id, record.id, record.title, record.data.decode()),
            )
            old.executemany(
                "INSERT INTO article_urls VALUES (?, ?)", [(k, record.id) for k in record.url_keys]
            )
            old.executemany(
                "INSERT INTO article_related (article_id, url_key) VALUES (?, ?)",
                [(record.id, k) for k in record.related_url_keys],
            )
    old.close()
    assert hub.record is not None and spoke.record is not None

    async with await Database.open(path) as database:
        await ArticleRepository(database).regroup_stories()

        story = min(hub.record.id, spoke.record.id)
        assert await story_of(database, hub.record.id) == story
        assert await story_of(database, spoke.record.id) == story


async def test_upgrade_to_6_keeps_url_owners_and_reads_every_file_again(
    tmp_path: Path, article_text
) -> None:
    """Migration 6 lets articles share a URL and makes the next ingest read every file again
    (for the new aliases and the cleaned text), even one whose stat has not changed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    file = corpus / "chip.md"
    file.write_text(article_text("chip", title="Chip &amp; board"), encoding="utf-8")
    record = ArticleRecord.from_article(parse_article_bytes(file.read_bytes()))
    stat = file.stat()
    path = tmp_path / "v5.sqlite3"
    with sqlite3.connect(path) as old:  # as release 5 left it: the title stored raw
        for version, _, sql in migrations():
            if version <= 5:
                old.executescript(sql)
        old.execute("PRAGMA user_version = 5")
        old.execute(
            "INSERT INTO articles (id, story_id, title, excerpt, provider_name, topics_text,"
            " data) VALUES (?, ?, 'Chip &amp; board', '', '', '', ?)",
            (
                record.id,
                record.id,
                record.data.decode().replace("Chip & board", "Chip &amp; board"),
            ),
        )
        old.execute(
            "INSERT INTO articles_fts (rowid, title, excerpt, provider_name, topics_text)"
            " SELECT seq, title, excerpt, provider_name, topics_text FROM articles"
        )
        old.executemany(
            "INSERT INTO article_urls VALUES (?, ?)", [(k, record.id) for k in record.url_keys]
        )
        old.execute(
            "INSERT INTO source_files (path, mtime_ns, size, article_id) VALUES (?, ?, ?, ?)",
            (str(file), stat.st_mtime_ns, stat.st_size, record.id),
        )
    old.close()

    async with await Database.open(path) as upgraded:
        assert sorted(await rows(upgraded, "SELECT url_key, article_id FROM article_urls")) == (
            sorted((k, record.id) for k in record.url_keys)
        )
        report = await ingest_corpus(ArticleRepository(upgraded), corpus)

        assert (report.ingested, report.unchanged) == (1, 0)
        assert await value(upgraded, "SELECT title FROM articles") == "Chip & board"
        assert await value(upgraded, "SELECT count(*) FROM article_urls") == len(record.url_keys)


async def test_reopening_keeps_data_and_does_not_migrate_again(
    tmp_path: Path, article_text
) -> None:
    path = tmp_path / "ainews.sqlite3"
    async with await Database.open(path) as database:
        await ArticleRepository(database).save_files([holding("/c/a.md", article_text("a"))])

    async with await Database.open(path) as database:
        assert await database.schema_version() == latest_schema_version()
        assert await ArticleRepository(database).count_active() == 1


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "from-the-future.sqlite3"
    with sqlite3.connect(path) as newer:
        newer.execute(f"PRAGMA user_version = {latest_schema_version() + 1}")
    newer.close()

    with pytest.raises(StoreError, match="upgrade ai-news-bot") as raised:
        await Database.open(path)

    assert str(path) in str(raised.value)
    with sqlite3.connect(path) as after:
        assert after.execute("PRAGMA user_version").fetchone()[0] == latest_schema_version() + 1
        assert after.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    after.close()


async def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)

    with pytest.raises(StoreError, match=r"notes\.txt"):
        await Database.open(path)

    assert path.read_text().startswith("these are my notes")


async def test_a_path_under_a_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")

    with pytest.raises(StoreError, match="cannot open the database"):
        await Database.open(tmp_path / "file" / "ainews.sqlite3")


async def test_open_creates_missing_folders(tmp_path: Path) -> None:
    async with await Database.open(tmp_path / "a" / "b" / "ainews.sqlite3"):
        pass

    assert (tmp_path / "a" / "b" / "ainews.sqlite3").is_file()


async def test_transaction_rolls_back_when_the_block_raises(database: Database) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction() as db:
            await db.execute("INSERT INTO topics (key, name) VALUES ('x', 'X')")
            raise RuntimeError("changed my mind")

    assert await rows(database, "SELECT * FROM topics") == []
    async with database.transaction() as db:  # and the next one still works
        await db.execute("INSERT INTO topics (key, name) VALUES ('y', 'Y')")
    assert await rows(database, "SELECT key FROM topics") == [("y",)]


# --------------------------------------------------------------------------- files and articles


async def test_save_files_is_all_or_nothing(
    repository: ArticleRepository, database, article_text
) -> None:
    good = holding("/c/good.md", article_text("good"))
    neither = FileOutcome("/c/broken-outcome.md", 1, 1)  # no record and no error: violates CHECK

    with pytest.raises((sqlite3.IntegrityError, asyncpg.CheckViolationError)):
        await repository.save_files([good, neither])

    assert await rows(database, "SELECT * FROM source_files") == []
    assert await rows(database, "SELECT * FROM articles") == []


async def test_rejected_file_is_recorded_without_an_article(repository, database) -> None:
    await repository.save_files([FileOutcome("/c/bad.md", 5, 6, error="title: required")])

    assert await rows(
        database, "SELECT path, mtime_ns, size, article_id, error FROM source_files"
    ) == [("/c/bad.md", 5, 6, None, "title: required")]
    assert await rows(database, "SELECT * FROM articles") == []


async def test_known_files_are_those_under_the_root_only(repository, save) -> None:
    for path in ["/c/a.md", "/c/sub/b.md", "/c2/x.md", "/c.md", "/b/c.md"]:
        await save(path)

    assert sorted(await repository.known_files("/c")) == ["/c/a.md", "/c/sub/b.md"]
    assert sorted(await repository.known_files("/c.md")) == ["/c.md"]


async def test_same_article_in_two_files_is_one_article(repository, database, article_text) -> None:
    text = article_text("same")
    await repository.save_files([holding("/c/a.md", text), holding("/c/b.md", text)])

    assert await repository.count_active() == 1
    assert await repository.forget_files(["/c/a.md"]) == 0
    assert await repository.count_active() == 1
    assert await repository.forget_files(["/c/b.md"]) == 1
    assert await repository.count_active() == 0
    assert await value(database, "SELECT count(*) FROM articles") == 1, "history is kept"


async def test_article_json_is_stored_as_text_and_reads_back_as_the_article(
    repository, database, article_text
) -> None:
    for title in ("Café – ünïcode “quotes” 🤖", "Changed: ünïcode again"):  # insert, then update
        text = article_text("unicode", title=title)
        await repository.save_files([holding("/c/u.md", text)])

        type_of = "typeof" if database.engine == "sqlite" else "pg_typeof"
        sql = f"SELECT CAST({type_of}(data) AS TEXT), data FROM articles"
        (kind, data) = (await rows(database, sql))[0]

        assert kind == "text"
        assert article_from_json(data) == parse_article_bytes(text.encode())


async def test_article_urls_hold_canonical_webUrl_and_amp_aliases(database, save) -> None:
    web = "https://News.example.com/tech/x?utm_source=feed"
    amp = "https://amp.news.example.com/tech/x#amp"
    cdn = "https://amp-news-example-com.cdn.ampproject.org/c/s/amp.news.example.com/tech/x"
    article_id = await save("/c/x.md", webUrl=web, ampWebUrl=amp, cdnAmpWebUrl=cdn)

    keys = await rows(database, "SELECT url_key, article_id FROM article_urls")

    assert article_id == article_id_for(web)
    assert sorted(keys) == sorted((url_key(u), article_id) for u in (web, amp, cdn))
    assert (url_key("https://news.example.com/tech/x"), article_id) in keys, "canonical form"


async def test_topics_keep_display_name_and_casefolded_key(
    repository, database, article_text
) -> None:
    await repository.save_files(
        [
            holding("/c/a.md", article_text("a", topics=["AI Hardware", "Robotics"])),
            holding("/c/b.md", article_text("b", topics=["ai hardware"])),
        ]
    )
    await repository.save_files([holding("/c/c.md", article_text("c", topics=["ROBOTICS"]))])

    assert await rows(database, "SELECT key, name FROM topics ORDER BY key") == [
        ("ai hardware", "AI Hardware"),
        ("robotics", "Robotics"),
    ]
    assert (
        await value(database, "SELECT count(*) FROM article_topics WHERE topic_key = 'ai hardware'")
        == 2
    )
    assert (
        await value(database, "SELECT count(*) FROM article_topics WHERE topic_key = 'robotics'")
        == 2
    )


async def test_changed_article_replaces_its_topics_and_urls(database, save) -> None:
    article_id = await save(
        "/c/a.md", topics=["Old Topic"], ampWebUrl="https://amp.example.com/old"
    )
    await save("/c/a.md", topics=["New Topic"], ampWebUrl="https://amp.example.com/new")

    assert await rows(database, "SELECT topic_key FROM article_topics") == [("new topic",)]
    keys = {
        row[0]
        for row in await rows(
            database, "SELECT url_key FROM article_urls WHERE article_id = ?", article_id
        )
    }
    assert url_key("https://amp.example.com/new") in keys
    assert url_key("https://amp.example.com/old") not in keys


# --------------------------------------------------------------------------- full-text search


async def search(database: Database, query: str) -> list[str]:
    """Article ids matching ``query``, best first (as /search finds them)."""
    return [found.article.id for found in await NewsCatalog(database).search(query, limit=10)]


async def test_search_finds_title_excerpt_provider_and_topic_words(database, save) -> None:
    chip = await save(
        "/c/chip.md",
        title="Lumara raises funds for photonic interconnects",
        excerpt="The startup links accelerators with light instead of copper.",
        provider={"name": "Silicon Harbor News"},
        topics=["Quantum Computing"],
    )
    robot = await save(
        "/c/robot.md",
        title="Meridian home robot folds laundry",
        excerpt="A household robot that sorts socks.",
        provider={"name": "Robotics Example Review"},
        topics=["Humanoid Robots"],
    )

    assert await search(database, "photonic") == [chip]  # title
    assert await search(database, "copper") == [chip]  # excerpt
    assert await search(database, "harbor") == [chip]  # provider
    assert await search(database, "quantum") == [chip]  # topic
    assert await search(database, "socks") == [robot]
    assert await search(database, "humanoid") == [robot]
    assert await search(database, "nothing_like_this") == []


async def test_search_ranks_by_relevance_and_ignores_accents(database, save) -> None:
    once = await save("/c/once.md", title="City council meets", excerpt="Robots were mentioned.")
    often = await save("/c/often.md", title="Robots, robots, robots", excerpt="All about robots.")
    cafe = await save("/c/cafe.md", title="Café opens with a barista robot")

    assert (await search(database, "robots"))[:2] == [often, once]
    assert await search(database, "cafe") == [cafe]
    assert await search(database, "café") == [cafe]


async def test_search_folds_accents_of_any_latin_letter_both_ways(database, save) -> None:
    noted = await save(
        "/c/noted.md", title="Ångström-scale chips", excerpt="Crème brûlée at Øresund"
    )

    assert await search(database, "angstrom creme brulee") == [noted]
    assert await search(database, "ÅNGSTRÖM Brûlée") == [noted]


async def test_search_finds_words_joined_by_dots_slashes_ats_and_underscores(
    database, save
) -> None:
    node = await save(
        "/c/node.md", title="Node.js 22 released", excerpt="See example.com/v2.0.1 or snake_case"
    )

    for query in (
        "js",
        "Node.js",
        "example",
        "com",
        "v2",
        "0 1",
        "case",
        "snake_case",
        "snake case",
    ):
        assert await search(database, query) == [node], query


async def test_search_follows_changes_without_duplicates(database, save) -> None:
    article_id = await save("/c/a.md", title="Original headline about turbines")
    await save("/c/a.md", title="Corrected headline about windmills")
    await save("/c/a.md", title="Corrected headline about windmills")

    assert await search(database, "turbines") == []
    assert await search(database, "windmills") == [article_id]


# --------------------------------------------------------------------------- stories


async def story_of(database: Database, article_id: str) -> str:
    return await value(database, "SELECT story_id FROM articles WHERE id = ?", article_id)


def related(web: str, amp: str | None = None) -> list[dict[str, str]]:
    item = {"title": "Related coverage", "webUrl": web}
    return [item | {"ampWebUrl": amp}] if amp else [item]


async def test_regroup_links_coverage_by_webUrl_or_amp_alias(repository, database, save) -> None:
    b = await save("/c/b.md")
    a = await save("/c/a.md", related=related("HTTPS://news.example.com/tech/b?utm_source=x"))
    d = await save("/c/d.md")
    c = await save(
        "/c/c.md",
        related=related(
            "https://elsewhere.example.org/d", amp="https://amp.news.example.com/tech/d"
        ),
    )
    e = await save("/c/e.md", related=related("https://outside.example.org/not-in-corpus"))

    await repository.regroup_stories()

    assert await story_of(database, a) == await story_of(database, b) == min(a, b)
    assert await story_of(database, c) == await story_of(database, d) == min(c, d)
    assert min(a, b) != min(c, d)
    assert await story_of(database, e) == e


async def test_stories_are_connected_groups_and_regroup_when_links_go(
    repository, database, save
) -> None:
    hub = await save("/c/hub.md")
    left = await save("/c/left.md", related=related("https://news.example.com/tech/hub"))
    right = await save("/c/right.md", related=related("https://news.example.com/tech/left"))
    await repository.regroup_stories()

    assert {await story_of(database, x) for x in (hub, left, right)} == {min(hub, left, right)}

    await save("/c/right.md")  # no related any more
    await repository.regroup_stories()

    assert await story_of(database, right) == right
    assert await story_of(database, hub) == await story_of(database, left) == min(hub, left)


async def linked_groups(database: Database) -> dict[str, str]:
    """Each article's story as the links in the store make it, found here independently: the
    smallest id of its connected group, by breadth-first search. Linked: a related item and the
    owner of its URL, two owners of one URL, and the articles one file held in turn."""
    neighbours: dict[str, set[str]] = {
        a: set() for (a,) in await rows(database, "SELECT id FROM articles")
    }
    for lister, owner in await rows(
        database,
        "SELECT r.article_id, u.article_id FROM article_related AS r"
        " JOIN article_urls AS u USING (url_key)"
        " UNION ALL SELECT a.article_id, b.article_id FROM article_urls AS a"
        " JOIN article_urls AS b USING (url_key)"
        " UNION ALL SELECT earlier_id, later_id FROM repointed_articles",
    ):
        neighbours[lister].add(owner)
        neighbours[owner].add(lister)
    story: dict[str, str] = {}
    for start in neighbours:
        if start in story:
            continue
        group, frontier = {start}, [start]
        while frontier:
            for other in neighbours[frontier.pop()] - group:
                group.add(other)
                frontier.append(other)
        story.update(dict.fromkeys(group, min(group)))
    return story


@pytest.mark.parametrize("around_at_most", [1, REGROUP_AROUND_AT_MOST])
async def test_regrouping_around_saved_articles_matches_the_links(
    repository, database, save, monkeypatch, around_at_most
) -> None:
    """Rounds of random edits to a small corpus: related coverage added and dropped, AMP aliases
    that share another article's URL and give it back, files re-pointed to other URLs. Each
    regrouping reads only the stories around what was saved (or, past a number of them, every
    link); after each, every story is the group the links make."""
    monkeypatch.setattr(articles_module, "REGROUP_AROUND_AT_MOST", around_at_most)
    rng = random.Random(2026)
    urls = [f"https://news.example.com/story/{n}" for n in range(40)]
    elsewhere = [f"https://elsewhere.example.org/{n}" for n in range(5)]

    async def save_random(n: int) -> None:
        await save(
            f"/c/{n}.md",
            f"s{n}",
            # Now and then a curation tool re-points the file to another outlet's copy.
            webUrl=urls[n] if rng.random() < 0.85 else rng.choice(urls + elsewhere),
            ampWebUrl=rng.choice([None, None, None, rng.choice(urls + elsewhere)]),
            cdnAmpWebUrl=None,
            related=[
                {"title": "Related coverage", "webUrl": url}
                for url in rng.sample(urls + elsewhere, k=rng.choice([0, 0, 1, 1, 2]))
            ],
        )

    for n in range(len(urls)):
        await save_random(n)
    await repository.regroup_stories()
    assert await rows(database, "SELECT * FROM stories_to_regroup") == []
    changed_rounds = 0
    for _ in range(30):
        before = dict(await rows(database, "SELECT id, story_id FROM articles"))
        for n in rng.sample(range(len(urls)), k=rng.randrange(1, 4)):
            await save_random(n)
        await repository.regroup_stories()

        stored = dict(await rows(database, "SELECT id, story_id FROM articles"))
        assert stored == await linked_groups(database)
        changed_rounds += stored != before
    assert changed_rounds >= 10, "the edits regroup stories often"
    assert await value(database, "SELECT count(*) FROM repointed_articles") >= 5, "re-pointed"
    assert len(set(stored.values())) < len(stored), "some stories hold several articles"


async def test_saved_articles_wait_to_be_regrouped_until_a_regrouping_commits(
    repository, database, save
) -> None:
    """A crash between saving and regrouping loses nothing: the next regrouping does it."""
    hub = await save("/c/hub.md")
    await repository.regroup_stories()
    spoke = await save("/c/spoke.md", related=related("https://news.example.com/tech/hub"))

    assert await story_of(database, spoke) == spoke  # saved, not regrouped yet
    assert await value(database, "SELECT count(*) FROM stories_to_regroup") == 1

    await repository.regroup_stories()

    assert await story_of(database, spoke) == min(hub, spoke)
    assert await value(database, "SELECT count(*) FROM stories_to_regroup") == 0


async def test_a_large_save_queues_every_story_once(
    repository, database, article_text, monkeypatch
) -> None:
    monkeypatch.setattr(articles_module, "REGROUP_AROUND_AT_MOST", 2)
    hub = holding("/c/hub.md", article_text("hub"))
    spoke = holding(
        "/c/spoke.md", article_text("spoke", related=related("https://news.example.com/tech/hub"))
    )
    await repository.save_files([hub, spoke, holding("/c/other.md", article_text("other"))])

    assert await rows(database, "SELECT article_id FROM stories_to_regroup") == [("*",)]

    await repository.regroup_stories()

    assert hub.record is not None and spoke.record is not None
    story = min(hub.record.id, spoke.record.id)
    assert {await story_of(database, hub.record.id), await story_of(database, spoke.record.id)} == {
        story
    }
    assert await rows(database, "SELECT article_id FROM stories_to_regroup") == []


async def test_a_url_shared_then_given_up_before_regrouping_leaves_its_owner_linked(
    repository, database, save
) -> None:
    """An article names another's URL (as an AMP alias): both keep it, and the two are one
    story. It gives the URL up again before stories are regrouped: the two are apart, and the
    coverage listing the URL is still linked to the article it always named."""
    url = "https://news.example.com/tech/y"
    owner = await save("/c/y.md", "y", webUrl=url, ampWebUrl=None, cdnAmpWebUrl=None)
    lister = await save("/c/x.md", "x", ampWebUrl=None, cdnAmpWebUrl=None, related=related(url))
    await repository.regroup_stories()
    assert await story_of(database, lister) == await story_of(database, owner)

    sharer = await save("/c/z1.md", "z", ampWebUrl=url, cdnAmpWebUrl=None)
    await repository.regroup_stories()
    assert await story_of(database, sharer) == await story_of(database, owner)

    await save("/c/z1.md", "z", ampWebUrl=url, cdnAmpWebUrl=None)
    await save("/c/z2.md", "z", ampWebUrl=None, cdnAmpWebUrl=None)  # the same article, given up
    await repository.regroup_stories()

    assert dict(await rows(database, "SELECT id, story_id FROM articles")) == await linked_groups(
        database
    )
    assert await story_of(database, lister) == await story_of(database, owner) == min(lister, owner)
    assert await story_of(database, sharer) == sharer


async def test_a_file_rejected_half_written_then_repointed_keeps_its_story(
    repository, database, save, article_text
) -> None:
    """A curation tool's rewrite caught half-written (rejected), then the file holds another
    outlet's copy: the article it held before is still linked to the one it holds now."""
    no_aliases = {"ampWebUrl": None, "cdnAmpWebUrl": None}  # only the file ties them
    first = await save(
        "/c/story.md", "story", webUrl="https://outlet-a.example.com/story", **no_aliases
    )
    await repository.save_files([FileOutcome("/c/story.md", 2, 10, error="invalid YAML")])
    second = await save(
        "/c/story.md", "story", webUrl="https://outlet-b.example.net/story", **no_aliases
    )
    await repository.regroup_stories()

    assert first != second
    assert await story_of(database, first) == await story_of(database, second)
