"""``ainews copy-db``: a used store copied SQLite to PostgreSQL and back, every table's rows
equal, the "never posted twice" history and search working on the copy; a destination that is
not empty refused and left as it was; no password ever shown.

The tests are synchronous (``main`` runs its own event loop); each store is built or read in an
``asyncio.run`` of its own, on real files and the real PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from ainews.__main__ import main
from ainews.ingest import ingest_corpus
from ainews.schedule import Schedule
from ainews.settings import SAMPLE_CORPUS
from ainews.store.articles import ArticleRepository
from ainews.store.bot_state import BotState
from ainews.store.catalog import NewsCatalog
from ainews.store.copy import NOT_COPIED, TABLES, copy_store
from ainews.store.database import Database, StoreError
from ainews.store.digests import DigestPart, DigestRepository
from ainews.store.ledger import Ledger, PostedArticle
from tests.helpers import CHECKOUT, POSTGRES_URL, fresh_postgres_schema, write_article_file

GUILD, CHANNEL, ADMINS, QUIET_CHANNEL = 1, 10, 20, 30
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NINE_UTC = Schedule(time(9, 0), "UTC", frozenset(range(7)))
PASSWORD = "s3cret"  # trust auth ignores it; it must never be shown


def run(coroutine_function: Callable[..., Any], *args: object) -> Any:
    return asyncio.run(coroutine_function(*args))


@pytest.fixture
def postgres_schema() -> Iterator[Callable[[], str]]:
    """``postgres_schema()``: the URL of a new, empty schema on the test server (skips without
    one, fails under CI=true); every schema made is dropped after the test. The schemas are
    made and dropped on a loop of their own (``asyncio.run`` would finalize the context
    manager, dropping the schema, as soon as it returned)."""
    loop = asyncio.new_event_loop()
    opened: list[AbstractAsyncContextManager[str]] = []

    def make() -> str:
        manager = fresh_postgres_schema()
        url = loop.run_until_complete(manager.__aenter__())
        opened.append(manager)
        return url

    try:
        yield make
    finally:
        for manager in reversed(opened):
            loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


def with_password(url: str) -> str:
    assert url.startswith("postgresql://127.0.0.1"), url
    return url.replace("postgresql://", f"postgresql://root:{PASSWORD}@", 1)


async def build_used_store(path: Path, corpus: Path) -> None:
    """A store as a server that used the bot for a while leaves it: the sample corpus (with a
    rejected file and a re-pointed one), posts from a command and from a digest, a digest
    delivered and one cut short, a message found deleted, and bot state."""
    shutil.copytree(SAMPLE_CORPUS, corpus)
    (corpus / "broken.md").write_text("no front matter here\n", encoding="utf-8")
    no_aliases = {"ampWebUrl": None, "cdnAmpWebUrl": None}
    moved = "extra/moved-story"
    write_article_file(corpus, moved, webUrl="https://outlet-a.example.com/story", **no_aliases)
    async with await Database.open(path) as db:
        articles = ArticleRepository(db)
        await ingest_corpus(articles, corpus)
        write_article_file(corpus, moved, webUrl="https://outlet-b.example.net/story", **no_aliases)
        await ingest_corpus(articles, corpus)  # re-pointed: linked for good, its card changed

        catalog = NewsCatalog(db)
        by_command = await catalog.newest(topics=None, channel_id=CHANNEL, limit=3)
        await Ledger(db).record_posted(
            guild_id=GUILD,
            channel_id=CHANNEL,
            message_id=500,
            articles=[PostedArticle(a.article.id, a.story_id) for a in by_command],
            source="command",
            posted_at=NOW,
        )
        digests = DigestRepository(db)
        topic = (await catalog.topics())[0]
        await digests.subscribe(
            channel_id=CHANNEL,
            guild_id=GUILD,
            topic_key=topic.key,
            schedule=NINE_UTC,
            max_items=4,
            next_run_at=NOW,
            notify_channel_id=ADMINS,
        )
        for number, when in enumerate((NOW - timedelta(days=1), NOW)):
            picked = await catalog.newest(topics=[topic], channel_id=CHANNEL, limit=4)
            parts = [
                DigestPart("part one", tuple(picked[:2])),
                DigestPart("two", tuple(picked[2:])),
            ]
            delivery = await digests.start_delivery(
                channel_id=CHANNEL,
                guild_id=GUILD,
                marker=f"marker-{number}",
                parts=parts,
                now=when,
                next_run_at=when + timedelta(days=1),
                history_after=400 + number,
            )
            await digests.record_part_sent(delivery, 0, 600 + 10 * number, when)
            if number == 0:  # the second is cut short after its first part
                await digests.record_part_sent(delivery, 1, 601, when)
                await digests.finish_delivery(delivery.id, "sent", when, None)
        await digests.message_gone(601)
        await BotState(db).set("command_definitions", '{"news": "Café ☕ naïve"}')


async def table_rows(db: Database, table: str, columns: list[str]) -> list[tuple[object, ...]]:
    rows = await db.fetch(f"SELECT {', '.join(columns)} FROM {table}")
    return sorted((tuple(row) for row in rows), key=repr)


async def every_row(source: Database, dest: Database) -> dict[str, list[tuple[object, ...]]]:
    """The rows of each table, in the columns both stores have, as (source, dest) pairs."""
    found = {}
    for table in TABLES:
        wanted = set(await dest.table_columns(table))
        wanted.discard("seq" if table == "articles" else "")  # the full-text rowid, reassigned
        columns = [name for name in await source.table_columns(table) if name in wanted]
        found[table] = [
            await table_rows(source, table, columns),
            await table_rows(dest, table, columns),
        ]
    return found


async def posted_stories(db: Database, channel_id: int) -> set[str]:
    """The stories (as they are now) of the articles posted in the channel, or in its digest
    delivery under way."""
    rows = await db.fetch(
        "SELECT a.story_id FROM articles AS a WHERE a.id IN (SELECT article_id FROM ledger"
        " WHERE channel_id = ?) OR a.story_id IN (SELECT i.story_id FROM delivery_items AS i"
        " JOIN deliveries AS d ON d.id = i.delivery_id WHERE d.channel_id = ?"
        " AND d.state = 'pending')",
        (channel_id, channel_id),
    )
    return {story for (story,) in rows}


async def what_members_see(db: Database) -> dict[str, object]:
    catalog = NewsCatalog(db)
    unposted = await catalog.newest(topics=None, channel_id=CHANNEL, limit=100)
    laundry = await catalog.search("laundry", limit=5)
    velmora = await catalog.search("Velmora", limit=10)
    return {
        "posted": await posted_stories(db, CHANNEL),
        "unposted": [a.article.id for a in unposted],
        "unposted stories": {a.story_id for a in unposted},
        "elsewhere": [
            a.article.id
            for a in await catalog.newest(topics=None, channel_id=QUIET_CHANNEL, limit=100)
        ],
        "laundry": [a.article.id for a in laundry],
        "velmora": {a.story_id for a in velmora},
        "active": await ArticleRepository(db).count_active(),
    }


async def compare(source_location: Path | str, dest_location: Path | str) -> None:
    async with (
        await Database.open(source_location) as source,
        await Database.open(dest_location) as dest,
    ):
        for table, (in_source, in_dest) in (await every_row(source, dest)).items():
            assert in_dest == in_source, table
        seen_in_source, seen_in_dest = await what_members_see(source), await what_members_see(dest)
        assert seen_in_dest == seen_in_source
        assert seen_in_dest["posted"], "stories were posted in the channel"
        assert not seen_in_dest["posted"] & seen_in_dest["unposted stories"], "never twice"
        assert len(seen_in_dest["laundry"]) == 1, "full-text search works on the copy"
        assert len(seen_in_dest["velmora"]) >= 2


async def counts(location: Path | str) -> dict[str, int]:
    async with await Database.open(location) as db:
        return {t: int(await db.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}


@pytest.fixture
def used_store(tmp_path: Path) -> Path:
    path = tmp_path / "used.sqlite3"
    run(build_used_store, path, tmp_path / "corpus")
    return path


# --------------------------------------------------------------------------- copies


def test_sqlite_to_postgresql_and_back_keeps_every_row_and_what_was_posted(
    used_store: Path, tmp_path: Path, postgres_schema: Callable[[], str]
) -> None:
    source_counts = run(counts, used_store)
    assert all(source_counts[t] for t in TABLES if t != "stories_to_regroup"), source_counts
    server = postgres_schema()

    async def copy(source_location: Path | str, dest_location: Path | str) -> dict[str, int]:
        async with (
            await Database.open(source_location) as source,
            await Database.open(dest_location) as dest,
        ):
            return await copy_store(source, dest)

    assert run(copy, used_store, server) == source_counts
    run(compare, used_store, server)

    back = tmp_path / "back" / "ainews.sqlite3"
    assert run(copy, server, back) == source_counts
    run(compare, server, back)
    run(compare, used_store, back)


def test_a_copy_fresh_from_a_new_store_is_empty_too(
    tmp_path: Path, postgres_schema: Callable[[], str]
) -> None:
    """What a new store holds (SQLite's regroup-everything row) copies as it is, and the copy
    counts as empty."""

    server = postgres_schema()

    async def scenario() -> None:
        async with (
            await Database.open(tmp_path / "new.sqlite3") as new,
            await Database.open(server) as dest,
        ):
            assert await copy_store(new, dest) == {
                t: int(t == "stories_to_regroup") for t in TABLES
            }
        async with (
            await Database.open(server) as source,
            await Database.open(tmp_path / "again.sqlite3") as again,
        ):
            assert (await copy_store(source, again))["stories_to_regroup"] == 1
            assert await again.fetch("SELECT article_id FROM stories_to_regroup") == [("*",)]

    run(scenario)


def test_rows_added_after_a_copy_into_postgresql_get_new_ids(
    used_store: Path, postgres_schema: Callable[[], str]
) -> None:
    """The ledger's and the deliveries' identity columns go on from the copied rows."""
    server = postgres_schema()

    async def scenario() -> None:
        async with await Database.open(used_store) as source, await Database.open(server) as dest:
            await copy_store(source, dest)
            last_seq = await dest.fetchval("SELECT max(seq) FROM ledger")
            last_delivery = await dest.fetchval("SELECT max(id) FROM deliveries")
            article = (await NewsCatalog(dest).newest(topics=None, channel_id=None, limit=1))[0]
            await Ledger(dest).record_posted(
                guild_id=GUILD,
                channel_id=QUIET_CHANNEL,
                message_id=900,
                articles=[PostedArticle(article.article.id, article.story_id)],
                source="command",
                posted_at=NOW,
            )
            delivery = await DigestRepository(dest).start_delivery(
                channel_id=QUIET_CHANNEL,
                guild_id=GUILD,
                marker="after-the-copy",
                parts=[DigestPart("one", (article,))],
                now=NOW,
                next_run_at=None,
            )
            assert await dest.fetchval("SELECT max(seq) FROM ledger") > last_seq
            assert delivery.id > last_delivery

    run(scenario)


def test_a_copy_that_fails_leaves_the_destination_empty(
    used_store: Path, postgres_schema: Callable[[], str], tmp_path: Path
) -> None:
    def fail_at_digests(table: str, done: int, total: int) -> None:
        if table == "digests":
            raise RuntimeError("the disk is full")

    async def scenario(dest_location: Path | str) -> None:
        async with (
            await Database.open(used_store) as source,
            await Database.open(dest_location) as dest,
        ):
            with pytest.raises(StoreError, match=r"table digests .* the disk is full"):
                await copy_store(source, dest, fail_at_digests)
            assert (await copy_store(source, dest)) == await counts(used_store), "still empty"

    for dest_location in (postgres_schema(), tmp_path / "dest.sqlite3"):
        run(scenario, dest_location)


def test_the_copy_order_names_every_table_of_both_engines(
    tmp_path: Path, postgres_schema: Callable[[], str]
) -> None:
    async def tables(location: Path | str) -> set[str]:
        async with await Database.open(location) as db:
            if db.engine == "sqlite":
                sql = (
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'articles_fts%'"
                )
            else:
                sql = (
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema() AND table_name <> 'ainews_schema'"
                )
            return {name for (name,) in await db.fetch(sql)}

    assert run(tables, tmp_path / "s.sqlite3") == set(TABLES) | set(NOT_COPIED)
    assert run(tables, postgres_schema()) == set(TABLES) | set(NOT_COPIED)
    assert len(TABLES) == len(set(TABLES))


# --------------------------------------------------------------------------- the command


def test_the_command_copies_both_ways_naming_both_stores_never_the_password(
    used_store: Path,
    tmp_path: Path,
    postgres_schema: Callable[[], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = with_password(postgres_schema())
    source_counts = run(counts, used_store)
    total = sum(source_counts.values())

    assert main(["copy-db", str(used_store), server]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert f"copied {total:,} rows from {used_store} to PostgreSQL database test at " in out
    assert "ledger " in out and "delivery_parts " in out

    back = tmp_path / "back.sqlite3"
    assert main(["copy-db", server, str(back)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1].endswith(
        f"rows from PostgreSQL database test at 127.0.0.1:5432 to {back}"
    )
    run(compare, used_store, back)

    assert main(["copy-db", str(used_store), server]) == 2, "the copy is not empty"
    out, err = capsys.readouterr()
    assert "is not empty" in err and "PostgreSQL database test at 127.0.0.1:5432" in err
    unreachable = server.replace(":5432/", ":1/")
    assert main(["copy-db", unreachable, str(tmp_path / "never.sqlite3")]) == 2
    out, err = capsys.readouterr()
    assert "cannot connect to PostgreSQL database test at 127.0.0.1:1" in err
    assert not (tmp_path / "never.sqlite3").exists(), "a DEST this run created is removed"
    missing_schema = server.replace("search_path=", "search_path=no_such_")
    assert main(["copy-db", str(used_store), missing_schema]) == 2
    assert PASSWORD not in "".join(capsys.readouterr())


@pytest.mark.slow
def test_python_dash_m_ainews_copy_db_in_a_fresh_process(
    used_store: Path, tmp_path: Path, postgres_schema: Callable[[], str]
) -> None:
    server = with_password(postgres_schema())
    env = {**os.environ, "PYTHONPATH": CHECKOUT}
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "ainews", "copy-db"]
    done = subprocess.run(
        [*command, str(used_store), server],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "copied " in done.stdout
    again = subprocess.run(
        [*command, str(used_store), server],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 2
    assert again.stderr.startswith(
        "ainews: the destination PostgreSQL database test at 127.0.0.1:5432 is not empty"
    )
    assert PASSWORD not in done.stdout + done.stderr + again.stdout + again.stderr


@pytest.mark.parametrize("dest_engine", ["sqlite", "postgresql"])
def test_a_destination_that_is_not_empty_is_refused_and_left_as_it_was(
    used_store: Path,
    tmp_path: Path,
    postgres_schema: Callable[[], str],
    capsys: pytest.CaptureFixture[str],
    dest_engine: str,
) -> None:
    dest: Path | str = tmp_path / "other.sqlite3" if dest_engine == "sqlite" else postgres_schema()

    async def ingest_one() -> None:
        corpus = tmp_path / "one"
        write_article_file(corpus, "lonely")
        async with await Database.open(dest) as db:
            await ingest_corpus(ArticleRepository(db), corpus)
            await BotState(db).set("kept", "yes")

    run(ingest_one)
    before = run(counts, dest)
    assert main(["copy-db", str(used_store), str(dest)]) == 2
    err = capsys.readouterr().err
    name = str(dest) if dest_engine == "sqlite" else "PostgreSQL database test at 127.0.0.1:5432"
    assert err == (
        f"ainews: the destination {name} is not empty (its table source_files has rows): copy into "
        "a new SQLite file or an empty PostgreSQL database or schema\n"
    )
    assert run(counts, dest) == before
    if dest_engine == "sqlite":
        assert Path(dest).exists(), "a DEST that was there is never removed"


def test_a_missing_source_is_named_and_never_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["copy-db", "nothing.sqlite3", "copy.sqlite3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"ainews: no database at {tmp_path / 'nothing.sqlite3'} (SOURCE, relative"
    )
    assert list(tmp_path.iterdir()) == [], "neither SOURCE nor DEST created"


def test_copying_a_file_onto_itself_or_onto_another_programs_database_is_refused(
    used_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["copy-db", str(used_store), str(used_store)]) == 2
    assert "SOURCE and DEST are the same file" in capsys.readouterr().err
    other = tmp_path / "other-program.sqlite3"
    with_table = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sqlite3; sqlite3.connect({str(other)!r}).execute('CREATE TABLE t (x)')",
        ],
        check=True,
    )
    assert with_table.returncode == 0
    assert main(["copy-db", str(used_store), str(other)]) == 2
    assert "is a database of another program" in capsys.readouterr().err
    assert other.exists()


def test_the_help_says_to_stop_the_bot_first(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["copy-db", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "while the bot is STOPPED" in text
    assert "post that a second time" in text
    assert POSTGRES_URL not in text


def test_a_store_larger_than_a_batch_copies_in_batches_through_copy(
    tmp_path: Path, postgres_schema: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several batches of one table in the one transaction, each large enough for PostgreSQL's
    COPY (and each converted to the types both engines take)."""
    import ainews.store.copy
    import ainews.store.postgres

    monkeypatch.setattr(ainews.store.copy, "BATCH_ROWS", ainews.store.postgres.COPY_AT_LEAST + 50)
    corpus = tmp_path / "corpus"
    for number in range(600):
        write_article_file(corpus, f"bulk/article-{number:03d}", topics=[f"Topic {number % 7}"])
    source, server, back = tmp_path / "source.sqlite3", postgres_schema(), tmp_path / "back.sqlite3"

    async def scenario() -> None:
        async with await Database.open(source) as db:
            await ingest_corpus(ArticleRepository(db), corpus)
        for from_location, to_location in ((source, server), (server, back)):
            async with (
                await Database.open(from_location) as from_store,
                await Database.open(to_location) as to_store,
            ):
                seen: list[tuple[str, int]] = []
                copied = await copy_store(
                    from_store,
                    to_store,
                    lambda table, done, total, seen=seen: seen.append((table, done)),
                )
                assert copied["articles"] == 600 and copied["article_urls"] >= 1_800
                assert ("articles", 250) in seen and ("articles", 600) in seen
        async with await Database.open(source) as db, await Database.open(back) as again:
            for table, (in_source, in_dest) in (await every_row(db, again)).items():
                assert in_dest == in_source, table
            assert len(await NewsCatalog(again).search("article-599", limit=5)) == 1

    run(scenario)
