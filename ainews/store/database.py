"""The store's database: one interface, two engines.

SQLite (:mod:`ainews.store.sqlite`, one file, the default) and PostgreSQL
(:mod:`ainews.store.postgres`, ``DATABASE_URL``, for several processes) answer the same calls:
reads (:meth:`Reader.fetch`, ``fetchrow``, ``fetchval``) and write transactions
(:meth:`Database.transaction`) that execute statements and insert rows in bulk. The repositories
(articles, catalog, ledger, digests, bot state) write their SQL once, for SQLite, with ``?`` or
``:name`` parameters; the PostgreSQL engine translates the parameters and SQLite's planner hints
(:func:`ainews.store.postgres.postgres_sql`). Where the engines really differ (full-text search,
bulk loading), the repository asks :attr:`Database.engine`, and that SQL stays in the store layer.

Each engine has its own numbered migrations (``migrations/<engine>/NNNN_*.sql``): a newer
release upgrades an older database when it opens it; an older release refuses a database a
newer one has upgraded.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal, overload

Engine = Literal["sqlite", "postgresql"]
#: A row as the engines return it: a tuple (SQLite) or a record (PostgreSQL); both index and
#: unpack like tuples.
Row = Sequence[Any]
Params = Sequence[object] | Mapping[str, object]
_MIGRATION_NAME = re.compile(r"^(\d{4})_\w+\.sql$")
POSTGRES_SCHEMES = ("postgresql", "postgres")


def to_timestamp(moment: datetime) -> int:
    """A moment as the store keeps it: whole seconds since the epoch (``moment`` is aware)."""
    return int(moment.timestamp())


@overload
def from_timestamp(value: int) -> datetime: ...
@overload
def from_timestamp(value: int | None) -> datetime | None: ...
def from_timestamp(value: int | None) -> datetime | None:
    """A stored moment (seconds since the epoch) as an aware UTC datetime; None stays None."""
    return datetime.fromtimestamp(value, UTC) if value is not None else None


class StoreError(RuntimeError):
    """The database cannot be used as it is; the message says why and what to do."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached right now (restarting, network trouble, every
    connection busy): the call may work if tried again in a moment. A transaction cut off
    before its commit wrote nothing; one cut off during its commit may have been written (the
    server did not say): what records Discord posts (the ledger, deliveries) is written so
    that the digests' recovery finds out from the channel."""


def migrations(engine: Engine = "sqlite") -> list[tuple[int, str, str]]:
    """``(version, file name, SQL)`` of every bundled migration of ``engine``, in order."""
    found = []
    folder = resources.files("ainews.store").joinpath("migrations").joinpath(engine)
    for item in folder.iterdir():
        match = _MIGRATION_NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), item.name, item.read_text(encoding="utf-8")))
    found.sort()
    return found


def latest_schema_version(engine: Engine = "sqlite") -> int:
    return migrations(engine)[-1][0]


def newer_schema_error(where: str, current: int, latest: int, setting: str) -> StoreError:
    return StoreError(
        f"the database {where} has schema version {current}, but this release of ai-news-bot "
        f"knows versions up to {latest}: upgrade ai-news-bot, or point {setting} at another "
        "database"
    )


def is_database_url(location: str | Path) -> bool:
    """``location`` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return isinstance(location, str) and location.split("://", 1)[0] in POSTGRES_SCHEMES


class Reader:
    """Reads, on a database or inside a transaction. ``params`` are positional (``?``) or
    named (``:name``)."""

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        raise NotImplementedError

    async def fetchrow(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = await self.fetchrow(sql, params)
        return row[0] if row is not None else None

    async def fetch_in(self, sql: str, values: Iterable[object]) -> list[Row]:
        """The rows of ``sql`` whose ``IN ({})`` takes ``values``, in chunks every engine
        accepts."""
        chunk_size = 500
        items, rows = list(values), list[Row]()
        for start in range(0, len(items), chunk_size):
            chunk = items[start : start + chunk_size]
            rows.extend(await self.fetch(sql.format(",".join("?" * len(chunk))), chunk))
        return rows


class Transaction(Reader):
    """A write transaction: what a :meth:`Database.transaction` block writes with."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns how many rows it changed."""
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        raise NotImplementedError

    async def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        on_conflict: str | None = "DO NOTHING",
    ) -> None:
        """Insert ``rows`` into ``table`` in bulk, each conflict resolved by ``on_conflict``
        (``DO NOTHING``, or ``(key) DO UPDATE SET ...`` with ``excluded``), or, with None, rows
        the caller knows are new (a conflict is an error): SQLite runs one prepared statement
        for all, PostgreSQL copies large batches (``COPY``; new rows straight into the table).
        Rows of one batch must not update one row twice."""
        names, marks = ", ".join(columns), ", ".join("?" * len(columns))
        conflict = "" if on_conflict is None else f" ON CONFLICT {on_conflict}"
        await self.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}", rows)


class Snapshot(Reader):
    """A consistent read of the whole database (one read transaction), for copying it."""

    def iterate(self, sql: str, batch: int = 2_000) -> AsyncIterator[list[Row]]:
        """The rows of ``sql`` in batches, without holding them all."""
        raise NotImplementedError


class Database(Reader):
    """An open database. Writes go through :meth:`transaction`."""

    engine: ClassVar[Engine]
    #: Where it is, for messages: a file's path, or a server's host, port and database (never a
    #: password).
    description: str

    @classmethod
    async def open(cls, location: Path | str, *, pool_size: int | None = None) -> Database:
        """Open (creating or upgrading the schema if needed) the database at ``location``: a
        ``postgresql://`` URL, else a SQLite file's path."""
        if is_database_url(location):
            from ainews.store.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(location), pool_size=pool_size)
        from ainews.store.sqlite import SqliteDatabase

        return await SqliteDatabase.connect(location)

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        raise NotImplementedError

    def snapshot(self) -> AbstractAsyncContextManager[Snapshot]:
        raise NotImplementedError

    def exclusive(self, name: str, *, wait: bool) -> AbstractAsyncContextManager[bool]:
        """Work only one process does at a time (``name``: "ingest"). The block gets True when
        this process holds it, False when another does (with ``wait``, it waits instead). A
        process that dies holding it frees it."""
        raise NotImplementedError

    async def schema_version(self) -> int:
        raise NotImplementedError

    async def table_columns(self, table: str) -> list[str]:
        """The columns of ``table`` one can insert into (generated ones left out), in order."""
        raise NotImplementedError

    def group_concat(self, expression: str) -> str:
        """SQL aggregating ``expression`` into one text, the values separated by U+001F."""
        raise NotImplementedError

    async def refresh_statistics(self, tables: Sequence[str]) -> None:
        """After a bulk change of ``tables``: let the query planner see it now. PostgreSQL's
        planner chooses its plans from statistics that autovacuum gathers only a while later
        (on SQLite, a no-op: its plans come from the queries and the indexes)."""

    async def backup_to(self, destination: Path) -> None:
        raise StoreError(f"ainews backup copies SQLite databases, not {self.description}")
