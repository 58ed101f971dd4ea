"""The SQLite engine: one file, one connection per process, the embedded default.

The connection is in WAL mode (readers never wait for the writer), with a busy timeout and
foreign keys on; writes go one at a time. ``PRAGMA user_version`` records the last migration
applied. One process uses a file at a time (several processes need PostgreSQL).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import aiosqlite

from ainews.store.database import (
    Database,
    Params,
    Row,
    Snapshot,
    StoreError,
    Transaction,
    migrations,
    newer_schema_error,
)

BUSY_TIMEOUT_MS = 5_000
#: Page size of a new database, and of a backup (``VACUUM INTO`` writes the copy with the page size
#: set on the connection); an existing database keeps its own, since in WAL mode it cannot change.
#: 16 KiB, since an article row with its JSON (about 3 KB) wastes a quarter of a 4 KiB page: a
#: bulk save costs less CPU and the file is smaller (measured in bench/RESULTS.md).
NEW_DATABASE_PAGE_SIZE = 16_384


class _SqliteReader:
    connection: aiosqlite.Connection

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.connection.execute(sql, params) as cursor:
            return cast("list[Row]", await cursor.fetchall())


class SqliteTransaction(_SqliteReader, Transaction):
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self.connection.execute(sql, params) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self.connection.executemany(sql, rows)


class SqliteSnapshot(_SqliteReader, Snapshot):
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def iterate(self, sql: str, batch: int = 2_000) -> AsyncIterator[list[Row]]:
        async with self.connection.execute(sql) as cursor:
            while rows := await cursor.fetchmany(batch):
                yield cast("list[Row]", rows)


class SqliteDatabase(_SqliteReader, Database):
    engine = "sqlite"

    def __init__(self, connection: aiosqlite.Connection, path: str) -> None:
        self.connection = connection
        self.path = path
        self.description = path
        self._write_lock = asyncio.Lock()
        self._exclusive: dict[str, asyncio.Lock] = {}

    @classmethod
    async def connect(cls, path: Path | str) -> SqliteDatabase:
        """Open (creating if needed) and upgrade the database at ``path``."""
        location = str(path)
        try:
            if location != ":memory:":
                Path(location).parent.mkdir(parents=True, exist_ok=True)
            connection = await aiosqlite.connect(location, isolation_level=None)
        except Exception as error:
            raise StoreError(f"cannot open the database {location}: {error}") from error
        database = cls(connection, location)
        try:
            await database._configure()
            await database._migrate()
        except sqlite3.Error as error:  # not a database file, read-only, ...
            await connection.close()
            raise StoreError(f"cannot use {location} as the database: {error}") from error
        except BaseException:
            await connection.close()
            raise
        return database

    async def close(self) -> None:
        await self.connection.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._write_lock:
            await self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTransaction(self.connection)
            except BaseException:
                await self.connection.execute("ROLLBACK")
                raise
            await self.connection.execute("COMMIT")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """A read transaction on a connection of its own (in WAL mode, a consistent view)."""
        async with aiosqlite.connect(self.path, isolation_level=None) as reader:
            await reader.execute("BEGIN")
            try:
                yield SqliteSnapshot(reader)
            finally:
                await reader.execute("ROLLBACK")

    @asynccontextmanager
    async def exclusive(self, name: str, *, wait: bool) -> AsyncIterator[bool]:
        """One at a time in this process (a SQLite file has one process)."""
        lock = self._exclusive.setdefault(name, asyncio.Lock())
        if lock.locked() and not wait:
            yield False
            return
        async with lock:
            yield True

    async def backup_to(self, destination: Path) -> None:
        """A consistent copy of the database in a new file, taken while others keep writing."""
        try:
            await self.connection.execute("VACUUM INTO ?", (str(destination),))
        except sqlite3.Error as error:
            raise StoreError(f"cannot back up to {destination}: {error}") from error

    async def schema_version(self) -> int:
        return int(await self.fetchval("PRAGMA user_version") or 0)

    async def table_columns(self, table: str) -> list[str]:
        rows = await self.fetch("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))
        return [name for (name,) in rows]

    def group_concat(self, expression: str) -> str:
        return f"group_concat({expression}, char(31))"

    async def _configure(self) -> None:
        for pragma in (
            f"PRAGMA page_size = {NEW_DATABASE_PAGE_SIZE}",  # before WAL; see the constant
            "PRAGMA journal_mode = WAL",
            f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys = ON",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA cache_size = -32000",  # KiB: 32 MB keeps a bulk ingest off the disk
        ):
            await self.connection.execute(pragma)

    async def _migrate(self) -> None:
        current = await self.schema_version()
        known = migrations("sqlite")
        latest = known[-1][0]
        if current > latest:
            raise newer_schema_error(self.path, current, latest, "DATABASE_PATH")
        for version, name, sql in known:
            if version <= current:
                continue
            try:
                await self.connection.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
                )
            except Exception as error:
                if self.connection.in_transaction:
                    await self.connection.execute("ROLLBACK")
                raise StoreError(f"migration {name} failed on {self.path}: {error}") from error
