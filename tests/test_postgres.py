"""PostgreSQL as the store (DATABASE_URL): selecting it, refusing what cannot work, and several
processes on one database. What works the same on both engines is tested by the store and
sandbox tests, which run on each (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
from datetime import UTC, datetime, time
from pathlib import Path

import asyncpg
import pytest

from ainews.__main__ import main
from ainews.corpus.files import parse_article_bytes
from ainews.ingest import IngestBusy, ingest_corpus
from ainews.schedule import Schedule
from ainews.settings import SAMPLE_CORPUS, Settings, SettingsError
from ainews.store.articles import ArticleRecord, ArticleRepository
from ainews.store.catalog import NewsCatalog
from ainews.store.database import Database, StoreError, latest_schema_version, migrations
from ainews.store.digests import DigestRepository
from tests.helpers import CHECKOUT, eventually, fresh_postgres_schema, write_article_file


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_ingest_with_database_url_indexes_into_postgresql(
    capsys, clean_env, monkeypatch, tmp_path
) -> None:
    async with fresh_postgres_schema() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "unused.sqlite3"))

        code, out, _ = await asyncio.to_thread(run, capsys, "ingest", str(SAMPLE_CORPUS))

        assert code == 0, out
        async with await Database.open(url) as database:
            assert database.engine == "postgresql"
            count = await database.fetchval("SELECT count(*) FROM articles WHERE active = 1")
        assert count == len(list(SAMPLE_CORPUS.rglob("*.md")))
        assert not (tmp_path / "unused.sqlite3").exists(), "DATABASE_URL wins over DATABASE_PATH"


def test_unreachable_server_stops_naming_the_setting_and_host_never_the_password(
    capsys, clean_env, monkeypatch, tmp_corpus
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://ainews:s3cret-pw@127.0.0.1:1/news")

    code, out, err = run(capsys, "ingest", str(tmp_corpus))

    assert code == 2
    assert err.startswith("ainews: cannot connect to PostgreSQL database news at 127.0.0.1:1")
    assert "(DATABASE_URL)" in err
    assert "s3cret" not in out + err


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://root:s3cret@db.example.org/news", "must be a postgresql:// URL"),
        ("db.example.org:5432/news", "must be a postgresql:// URL"),
        ("postgresql://root:s3cret@db.example.org:port/news", "db.example.org with a port"),
    ],
)
def test_a_bad_database_url_names_the_setting_never_the_password(url, fragment) -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL") as raised:
        Settings.from_values({"DATABASE_URL": url})

    assert fragment in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_settings_never_show_the_database_password() -> None:
    settings = Settings.from_values({"DATABASE_URL": "postgresql://bot:s3cret@db.example:6432/n"})

    assert "s3cret" not in repr(settings)
    assert settings.database_description == "DATABASE_URL PostgreSQL database n at db.example:6432"


@pytest.mark.skipif(not Path("/var/run/postgresql").is_dir(), reason="no local socket folder")
async def test_the_store_opens_through_the_servers_local_socket() -> None:
    async with fresh_postgres_schema() as url:
        schema = url.rsplit("search_path=", 1)[1]
        socket_url = f"postgresql:///test?host=/var/run/postgresql&search_path={schema}"
        async with await Database.open(socket_url) as database:
            await ingest_corpus(ArticleRepository(database), SAMPLE_CORPUS)
            assert database.description == "PostgreSQL database test at /var/run/postgresql"
        async with await Database.open(url) as database:
            assert await database.fetchval("SELECT count(*) FROM articles") > 0


def test_a_socket_url_is_described_by_its_socket_folder() -> None:
    settings = Settings.from_values({"DATABASE_URL": "postgresql:///news?host=/run/postgresql"})

    assert (
        settings.database_description == "DATABASE_URL PostgreSQL database news at /run/postgresql"
    )


async def test_a_wrong_pool_size_is_refused() -> None:
    for wrong in ("0", "1", "ten", "100000"):
        with pytest.raises(SettingsError, match="DATABASE_POOL_SIZE"):
            Settings.from_values({"DATABASE_POOL_SIZE": wrong})
    assert Settings.from_values({"DATABASE_POOL_SIZE": "3"}).database_pool_size == 3


async def test_backup_refuses_postgresql_and_says_what_to_use(
    capsys, clean_env, monkeypatch, tmp_path
) -> None:
    async with fresh_postgres_schema() as url:
        monkeypatch.setenv("DATABASE_URL", url)

        code, _, err = run(capsys, "backup", str(tmp_path / "copy.sqlite3"))

    assert code == 2
    assert "pg_dump" in err and "copy-db" in err
    assert not (tmp_path / "copy.sqlite3").exists()


async def test_an_older_release_refuses_a_newer_postgresql_schema() -> None:
    async with fresh_postgres_schema() as url:
        async with await Database.open(url) as database:
            assert await database.schema_version() == latest_schema_version("postgresql")
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("UPDATE ainews_schema SET version = version + 1")
        finally:
            await connection.close()

        with pytest.raises(StoreError, match="upgrade ai-news-bot, or point DATABASE_URL"):
            await Database.open(url)


async def test_reopening_a_postgresql_store_keeps_it_and_migrates_once() -> None:
    async with fresh_postgres_schema() as url:
        async with await Database.open(url) as database:
            await ingest_corpus(ArticleRepository(database), SAMPLE_CORPUS)
        # Two processes starting at once: one upgrades, the other finds it done.
        first, second = await asyncio.gather(Database.open(url), Database.open(url))
        async with first, second:
            assert await first.fetchval("SELECT count(*) FROM ainews_schema") == 1
            assert await second.fetchval("SELECT count(*) FROM articles") > 0


async def test_migration_4_stores_vectors_built_in_python_and_reads_every_file_again(
    tmp_path,
) -> None:
    """A store of version 3 (vectors generated by the server): its vectors stay searchable,
    the column becomes a plain one, and the next ingest reads every file again, so each
    vector is then built the new way."""
    (tmp_path / "corpus").mkdir()
    file = write_article_file(tmp_path / "corpus", "robots", title="Café robots learn to walk")
    record = ArticleRecord.from_article(parse_article_bytes(file.read_bytes()))
    async with fresh_postgres_schema() as url:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("CREATE TABLE ainews_schema (version integer NOT NULL)")
            for _, _, sql in migrations("postgresql")[:3]:
                await connection.execute(sql)
            await connection.execute("INSERT INTO ainews_schema (version) VALUES (3)")
            await connection.execute(
                "INSERT INTO articles (id, story_id, title, excerpt, provider_name, topics_text,"
                " published_at, data) VALUES ($1, $1, 'Café robots', '', '', '', 0, $2)",
                record.id,
                record.data.decode(),
            )
            await connection.execute(
                "INSERT INTO source_files (path, mtime_ns, size, article_id)"
                " VALUES ($1, $2, $3, $4)",
                str(file),
                file.stat().st_mtime_ns,
                file.stat().st_size,
                record.id,
            )
        finally:
            await connection.close()

        async with await Database.open(url) as database:
            assert await database.schema_version() == 4
            assert (
                await database.fetchval(
                    "SELECT is_generated FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = 'articles'"
                    " AND column_name = 'search_vector'"
                )
                == "NEVER"
            )
            assert await database.fetchval(
                "SELECT search_vector @@ CAST('cafe' AS tsquery) FROM articles WHERE id = ?",
                (record.id,),
            ), "the vectors stored before are kept"
            assert await database.fetchval("SELECT to_regprocedure('ainews_fold(text)')") is None
            lz4 = await database.fetchval(
                "SELECT 'lz4' = ANY (enumvals) FROM pg_settings"
                " WHERE name = 'default_toast_compression'"
            )
            compression = await database.fetchval(
                "SELECT CAST(attcompression AS text) FROM pg_attribute"
                " WHERE attrelid = CAST('articles' AS regclass) AND attname = 'data'"
            )
            assert compression == ("l" if lz4 else "")

            report = await ingest_corpus(ArticleRepository(database), file.parent)

            assert report.ingested == 1, "the file was read again, though it did not change"
            found = await NewsCatalog(database).search("walk", limit=5)
            assert [stored.article.title for stored in found] == ["Café robots learn to walk"]


# One process ingests at a time ------------------------------------------------------------------


async def test_one_process_ingests_at_a_time_the_others_skip_or_wait() -> None:
    async with (
        fresh_postgres_schema() as url,
        await Database.open(url) as holder,
        await Database.open(url) as other,
    ):
        async with holder.exclusive("ingest", wait=False) as held:
            assert held
            with pytest.raises(IngestBusy):
                await ingest_corpus(ArticleRepository(other), SAMPLE_CORPUS, wait=False)
            waiting = asyncio.create_task(
                ingest_corpus(ArticleRepository(other), SAMPLE_CORPUS, wait=True)
            )
            await asyncio.sleep(0.3)
            assert not waiting.done(), "ainews ingest waits its turn"
        report = await asyncio.wait_for(waiting, 30)

        assert report.ingested > 0


HOLD_THE_LOCK = textwrap.dedent(
    """
    import asyncio, sys
    from ainews.store.database import Database

    async def hold() -> None:
        async with await Database.open(sys.argv[1]) as database:
            async with database.exclusive("ingest", wait=False) as held:
                print("held" if held else "busy", flush=True)
                await asyncio.sleep(600)

    asyncio.run(hold())
    """
)


@pytest.mark.slow
async def test_the_lock_of_a_process_killed_while_ingesting_is_freed() -> None:
    async with fresh_postgres_schema() as url:
        holder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            HOLD_THE_LOCK,
            url,
            stdout=asyncio.subprocess.PIPE,
            env={"PYTHONPATH": CHECKOUT, "PATH": "/usr/bin:/bin"},
        )
        try:
            assert holder.stdout is not None
            assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"held\n"
            async with await Database.open(url) as database:
                async with database.exclusive("ingest", wait=False) as held:
                    assert not held
                holder.send_signal(signal.SIGKILL)
                await asyncio.wait_for(holder.wait(), 10)

                async def free() -> bool:
                    async with database.exclusive("ingest", wait=False) as held:
                        return held

                await eventually(free, within=10)
        finally:
            if holder.returncode is None:
                holder.kill()
                await holder.wait()


async def test_a_transaction_cancelled_at_any_point_gives_its_connection_back() -> None:
    """Cancelled while it begins, works or commits (a bot stopping mid-query): the pool gets
    every connection back, so closing it does not wait for one that never comes."""
    async with fresh_postgres_schema() as url:
        database = await Database.open(url)
        try:
            for steps in range(12):

                async def write() -> None:
                    async with database.transaction() as db:
                        await db.execute(
                            "INSERT INTO bot_state (key, value) VALUES ('k', 'v')"
                            " ON CONFLICT (key) DO UPDATE SET value = 'w'"
                        )
                        await asyncio.sleep(1)

                task = asyncio.create_task(write())
                for _ in range(steps):
                    await asyncio.sleep(0)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await asyncio.sleep(0.05)
        finally:
            await asyncio.wait_for(database.close(), 5)
        connection = await asyncpg.connect(url)
        try:
            in_transaction = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ainews'"
                " AND state LIKE 'idle in transaction%'"
            )
        finally:
            await connection.close()
        assert in_transaction == 0


async def test_an_unsubscribe_racing_a_subscribe_keeps_the_new_subscription() -> None:
    """Two admins on one channel at the same moment: one removes its last topic while the other
    adds one. The digest stays, with the added topic (PostgreSQL runs the two transactions at
    once, where SQLite ran them one after the other)."""
    async with fresh_postgres_schema() as url, await Database.open(url) as database:
        digests = DigestRepository(database)
        await digests.subscribe(
            channel_id=10,
            guild_id=1,
            topic_key="ai",
            schedule=Schedule(time(9, 0), "UTC", frozenset(range(7))),
            max_items=3,
            next_run_at=datetime(2027, 2, 1, 9, 0, tzinfo=UTC),
            notify_channel_id=None,
        )
        subscribing = await asyncpg.connect(url)
        try:
            transaction = subscribing.transaction()
            await transaction.start()
            await subscribing.execute(
                "UPDATE digests SET max_items = 5 WHERE channel_id = 10"  # subscribe's upsert
            )
            await subscribing.execute(
                "INSERT INTO digest_topics (channel_id, topic_key) VALUES (10, 'robots')"
            )
            unsubscribing = asyncio.create_task(digests.unsubscribe(10, "ai"))
            await asyncio.sleep(0.3)  # it waits for the subscribe
            await transaction.commit()
            assert await asyncio.wait_for(unsubscribing, 10)
        finally:
            await subscribing.close()

        digest = await digests.get(10)
        assert digest is not None and digest.topic_keys == ("robots",)
