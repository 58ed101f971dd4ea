"""Copying a store to another, engine to engine (``ainews copy-db``): SQLite to PostgreSQL and
back, every table included (articles, the posting ledger, digests, deliveries, story links, bot
state), so a server that switches keeps its "never posted twice" history.

The source is read in one snapshot (a consistent view, streamed in batches) and the destination
written in one transaction: a copy that fails or is interrupted leaves the destination as empty
as it was. A destination that holds anything is refused. Both are opened at this release's
schema, and the columns both have are copied: SQLite's ``articles.seq`` (its full-text rowid) is
assigned again by a SQLite destination; PostgreSQL's ``search_vector`` is built for a PostgreSQL
destination when the source has none. Afterwards the full-text index (SQLite) or the identity
sequences (PostgreSQL) are brought up to date, and every table's rows are counted on both sides.

The snapshot misses what the bot writes after it is taken: copy a store while the bot is stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ainews.store.database import Database, Row, Snapshot, StoreError, Transaction
from ainews.store.search_vectors import article_search_vector

#: Every table of the store, in copy order: a table comes after those its rows refer to
#: (digest_topics after digests; delivery_items and delivery_parts after deliveries).
TABLES = (
    "source_files",
    "articles",
    "article_urls",
    "article_related",
    "topics",
    "article_topics",
    "repointed_articles",
    "stories_to_regroup",
    "cards_changed",
    "ledger",
    "bot_state",
    "digests",
    "digest_topics",
    "deliveries",
    "delivery_items",
    "delivery_parts",
    "messages_gone",
)
#: Tables not copied: who runs on the source is not who will run on the destination.
NOT_COPIED = ("bot_processes",)
#: The rows a freshly created store holds (SQLite's migration 0005 asks for every story to be
#: regrouped): a store holding only these is empty. The copy replaces them by the source's.
FRESH_ROWS = {"stories_to_regroup": "article_id = '*'"}
#: PostgreSQL's identity columns, moved past the copied rows so new rows do not collide.
IDENTITY_COLUMNS = (("ledger", "seq"), ("deliveries", "id"))
#: Rows read and written at a time: an article row with its JSON is a few KB.
BATCH_ROWS = 1_000

#: ``progress(table, rows_copied, rows_in_table)``, called after each batch and once per table.
CopyProgress = Callable[[str, int, int], None]


async def copy_store(
    source: Database, dest: Database, progress: CopyProgress | None = None
) -> dict[str, int]:
    """Copy every table of ``source`` into ``dest`` (which must be empty), in one snapshot of the
    source and one transaction of the destination; returns the rows copied per table, in copy
    order. Raises :class:`StoreError` when ``dest`` is not empty or the copy fails (``dest``
    is then left as it was)."""
    columns = {table: await _common_columns(source, dest, table) for table in TABLES}
    copied: dict[str, int] = {}
    async with source.snapshot() as snapshot, dest.transaction() as writer:
        await _require_empty(writer, dest)
        for table, condition in FRESH_ROWS.items():
            await writer.execute(f"DELETE FROM {table} WHERE {condition}")
        counts = {table: await _count(snapshot, table) for table in TABLES}
        for table in TABLES:
            try:
                copied[table] = await _copy_table(
                    snapshot,
                    writer,
                    table,
                    columns[table],
                    counts[table],
                    progress,
                    build_vectors=table == "articles"
                    and dest.engine == "postgresql"
                    and "search_vector" not in columns[table],
                )
            except StoreError:
                raise
            except Exception as error:
                raise StoreError(
                    f"cannot copy the table {table} from {source.description} to "
                    f"{dest.description}: {error}"
                ) from error
        await _after_copy(writer, dest)
        for table in TABLES:
            written = await _count(writer, table)
            if written != counts[table] or copied[table] != counts[table]:
                raise StoreError(
                    f"the copy of the table {table} to {dest.description} does not match "
                    f"{source.description}: {counts[table]} rows in the source, {copied[table]} "
                    f"copied, {written} in the destination; nothing was written"
                )
    return copied


async def _require_empty(writer: Transaction, dest: Database) -> None:
    for table in TABLES:
        condition = FRESH_ROWS.get(table)
        where = f" WHERE NOT ({condition})" if condition else ""
        if await writer.fetchval(f"SELECT 1 FROM {table}{where} LIMIT 1") is not None:
            raise StoreError(
                f"the destination {dest.description} is not empty (its table {table} has rows): "
                "copy into a new SQLite file or an empty PostgreSQL database or schema"
            )


async def _count(reader: Snapshot | Transaction, table: str) -> int:
    return int(await reader.fetchval(f"SELECT count(*) FROM {table}") or 0)


async def _common_columns(source: Database, dest: Database, table: str) -> list[str]:
    """The columns of ``table`` both stores can insert into, in the source's order."""
    wanted = set(await dest.table_columns(table))
    columns = [name for name in await source.table_columns(table) if name in wanted]
    if not columns:
        raise StoreError(
            f"the table {table} has no columns in common in {source.description} and "
            f"{dest.description}"
        )
    return columns


async def _copy_table(
    snapshot: Snapshot,
    writer: Transaction,
    table: str,
    columns: Sequence[str],
    total: int,
    progress: CopyProgress | None,
    *,
    build_vectors: bool,
) -> int:
    done = 0
    select = f"SELECT {', '.join(columns)} FROM {table}"
    written = [*columns, "search_vector"] if build_vectors else columns
    async for batch in snapshot.iterate(select, BATCH_ROWS):
        # Records (PostgreSQL) become tuples, which both engines insert.
        rows = _with_search_vectors(columns, batch) if build_vectors else [tuple(r) for r in batch]
        await writer.insert_rows(table, written, rows, on_conflict=None)  # into empty tables
        done += len(batch)
        if progress is not None:
            progress(table, done, total)
    if progress is not None and not done:
        progress(table, 0, total)
    return done


def _with_search_vectors(columns: Sequence[str], rows: list[Row]) -> list[tuple[object, ...]]:
    """Article rows from SQLite, with the search vector PostgreSQL stores (the topics' text
    holds the same words as the topics)."""
    title, excerpt, provider, topics = (
        columns.index(name) for name in ("title", "excerpt", "provider_name", "topics_text")
    )
    return [
        (*row, article_search_vector(row[title], row[excerpt], row[provider], (row[topics],)))
        for row in rows
    ]


async def _after_copy(writer: Transaction, dest: Database) -> None:
    """Bring what the destination derives from the rows up to date."""
    if dest.engine == "sqlite":
        # articles_fts indexes articles by seq, which the destination assigned.
        await writer.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
        return
    for table, column in IDENTITY_COLUMNS:
        await writer.fetchval(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
            f" coalesce(max({column}), 0) + 1, false) FROM {table}"
        )
