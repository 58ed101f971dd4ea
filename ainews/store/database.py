"""The SQLite database: opening it, upgrading its schema, and running transactions.

One connection per process, in WAL mode (readers never wait for the writer), with a busy timeout
and foreign keys on. The schema is the numbered ``migrations/NNNN_*.sql`` files applied in order;
``PRAGMA user_version`` records the last one applied. A newer release upgrades an older database
in place when it opens it; an older release refuses a database a newer one has upgraded.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import overload

import aiosqlite

BUSY_TIMEOUT_MS = 5_000
#: Page size of a new database, and of a backup (``VACUUM INTO`` writes the copy with the page size
#: set on the connection); an existing database keeps its own, since in WAL mode it cannot change.
#: 16 KiB, since an article row with its JSON (about 3 KB) wastes a quarter of a 4 KiB page: a
#: bulk save costs less CPU and the file is smaller (measured in bench/RESULTS.md).
NEW_DATABASE_PAGE_SIZE = 16_384
_MIGRATION_NAME = re.compile(r"^(\d{4})_\w+\.sql$")


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


def migrations() -> list[tuple[int, str, str]]:
    """``(version, file name, SQL)`` of every bundled migration, in order."""
    found = []
    for item in resources.files("ainews.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), item.name, item.read_text(encoding="utf-8")))
    found.sort()
    return found


def latest_schema_version() -> int:
    return migrations()[-1][0]


class Database:
    """An open database. Writes go through :meth:`transaction`, one at a time."""

    def __init__(self, connection: aiosqlite.Connection, path: str) -> None:
        self.connection = connection
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
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

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock:
            await self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.connection
            except BaseException:
                await self.connection.execute("ROLLBACK")
                raise
            await self.connection.execute("COMMIT")

    async def backup_to(self, destination: Path) -> None:
        """A consistent copy of the database in a new file, taken while others keep writing."""
        try:
            await self.connection.execute("VACUUM INTO ?", (str(destination),))
        except sqlite3.Error as error:
            raise StoreError(f"cannot back up to {destination}: {error}") from error

    async def schema_version(self) -> int:
        async with self.connection.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

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
        known = migrations()
        latest = known[-1][0]
        if current > latest:
            raise StoreError(
                f"the database {self.path} has schema version {current}, but this release of "
                f"ai-news-bot knows versions up to {latest}: upgrade ai-news-bot, or point "
                "DATABASE_PATH at another file"
            )
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
