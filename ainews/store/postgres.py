"""The PostgreSQL engine (``DATABASE_URL``): an asyncpg pool that several processes share.

The repositories' SQL is written for SQLite; :func:`postgres_sql` turns it into PostgreSQL's: ``?``
and ``:name`` parameters become ``$n``, SQLite's planner hints go (``CROSS JOIN``, which fixes
SQLite's join order, is a plain ``JOIN``; ``NOT INDEXED`` is dropped), and ``DESC`` sorts NULL last,
as on SQLite. Bulk inserts of many rows go
through ``COPY`` into a temporary table. A lost connection (the server restarting, the network)
raises :class:`StoreUnavailable`; the pool makes new connections for the next calls.

The schema version is kept in ``ainews_schema``; migrations run under an advisory lock, so
processes starting together upgrade once. Advisory locks are keyed by the schema's name too:
two deployments in two schemas of one database never block each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import cast
from urllib.parse import urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ainews.settings import DEFAULT_POOL_SIZE, describe_url
from ainews.store.database import (
    Database,
    Params,
    Row,
    Snapshot,
    StoreError,
    StoreUnavailable,
    Transaction,
    migrations,
    newer_schema_error,
)

CONNECT_TIMEOUT_SECONDS = 10.0
CLOSE_WAIT_SECONDS = 10
#: Inserts of at least this many rows go through COPY; fewer, one prepared statement.
COPY_AT_LEAST = 200
#: Errors that mean the server is gone for now, not that the statement is wrong.
CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.TooManyConnectionsError,  # every connection the server allows is taken
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, restarting, terminated
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)
_PARAMETER = re.compile(r"'(?:[^']|'')*'|\?|(?<![:\w]):([A-Za-z_]\w*)")
#: SQLite sorts NULL first, so last in a descending order; PostgreSQL sorts it the other way.
_DESCENDING = re.compile(r"\bDESC\b(?! NULLS)")
_counter = itertools.count()
log = logging.getLogger(__name__)
Connection = asyncpg.Connection | PoolConnectionProxy


@functools.lru_cache(maxsize=1024)
def postgres_sql(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """``sql`` (written for SQLite) in PostgreSQL's dialect, and the names of its ``:name``
    parameters in ``$n`` order (None when it takes positional ``?`` ones)."""
    names: list[str] = []
    positional = 0

    def number(match: re.Match[str]) -> str:
        nonlocal positional
        token = match.group(0)
        if token.startswith("'"):
            return token
        if token == "?":  # noqa: S105 (a parameter mark, not a password)
            positional += 1
            return f"${positional}"
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    text = _PARAMETER.sub(number, sql)
    text = text.replace(" CROSS JOIN ", " JOIN ").replace(" NOT INDEXED", "")
    text = _DESCENDING.sub("DESC NULLS LAST", text)
    return text, (tuple(names) if names else None)


def _arguments(sql: str, params: Params) -> tuple[str, Sequence[object]]:
    text, names = postgres_sql(sql)
    if names is not None:
        named = cast("Mapping[str, object]", params)
        return text, [named[name] for name in names]
    return text, cast("Sequence[object]", params)


@contextmanager
def _unavailable_on_connection_loss(description: str) -> Iterator[None]:
    try:
        yield
    except CONNECTION_LOST as error:
        raise StoreUnavailable(f"{description} is unavailable: {error}") from error


async def _prepare_connection(connection: asyncpg.Connection) -> None:
    """Search vectors go to the server in its binary form, built in Python
    (``ainews.store.search_vectors``), and come back as such (``copy-db``)."""
    await connection.set_type_codec(
        "tsvector", schema="pg_catalog", encoder=bytes, decoder=bytes, format="binary"
    )


class _PostgresReader:
    description: str

    def _connection(self) -> Connection | asyncpg.Pool:
        raise NotImplementedError

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        text, args = _arguments(sql, params)
        with _unavailable_on_connection_loss(self.description):
            return cast("list[Row]", await self._connection().fetch(text, *args))

    async def fetch_in(self, sql: str, values: Iterable[object]) -> list[Row]:
        """One statement however many the values: they go as one array (``= ANY``)."""
        items = list(values)
        if not items:
            return []
        return await self.fetch(sql.replace("IN ({})", "= ANY(?)"), (items,))


class PostgresTransaction(_PostgresReader, Transaction):
    def __init__(self, connection: Connection, description: str) -> None:
        self.connection = connection
        self.description = description

    def _connection(self) -> Connection:
        return self.connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        text, args = _arguments(sql, params)
        with _unavailable_on_connection_loss(self.description):
            status = await self.connection.execute(text, *args)
        count = status.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        batch = list(rows)
        if batch:
            text, _ = postgres_sql(sql)
            with _unavailable_on_connection_loss(self.description):
                await self.connection.executemany(text, batch)

    async def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        on_conflict: str | None = "DO NOTHING",
    ) -> None:
        batch = rows if isinstance(rows, list) else list(rows)
        if len(batch) < COPY_AT_LEAST:
            await super().insert_rows(table, columns, batch, on_conflict=on_conflict)
            return
        if on_conflict is None:  # new rows: nothing to resolve, no staging
            with _unavailable_on_connection_loss(self.description):
                await self.connection.copy_records_to_table(
                    table, records=batch, columns=list(columns)
                )
            return
        staging = f"bulk_{table}_{next(_counter)}"
        names = ", ".join(columns)
        with _unavailable_on_connection_loss(self.description):
            await self.connection.execute(
                f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS"
                f" SELECT {names} FROM {table} WITH NO DATA"
            )
            await self.connection.copy_records_to_table(
                staging, records=batch, columns=list(columns)
            )
            await self.connection.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging}"
                f" ON CONFLICT {on_conflict}"
            )
            await self.connection.execute(f"DROP TABLE {staging}")


class PostgresSnapshot(_PostgresReader, Snapshot):
    def __init__(self, connection: Connection, description: str) -> None:
        self.connection = connection
        self.description = description

    def _connection(self) -> Connection:
        return self.connection

    async def iterate(self, sql: str, batch: int = 2_000) -> AsyncIterator[list[Row]]:
        text, _ = postgres_sql(sql)
        rows: list[Row] = []
        with _unavailable_on_connection_loss(self.description):
            async for record in self.connection.cursor(text, prefetch=batch):
                rows.append(cast("Row", record))
                if len(rows) == batch:
                    yield rows
                    rows = []
        if rows:
            yield rows


class PostgresDatabase(_PostgresReader, Database):
    engine = "postgresql"

    def __init__(self, pool: asyncpg.Pool, description: str) -> None:
        self.pool = pool
        self.description = description

    def _connection(self) -> asyncpg.Pool:
        return self.pool

    @classmethod
    async def connect(cls, url: str, *, pool_size: int | None = None) -> PostgresDatabase:
        """Connect a pool to the database ``url`` names and upgrade its schema."""
        description = describe_url(url)
        password = urlsplit(url).password

        def reason(error: BaseException) -> str:
            text = str(error) or type(error).__name__
            return text.replace(password, "***") if password else text

        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=pool_size or DEFAULT_POOL_SIZE,
                timeout=CONNECT_TIMEOUT_SECONDS,
                server_settings={"application_name": "ainews"},
                init=_prepare_connection,
            )
        except (*CONNECTION_LOST, asyncpg.PostgresError, ValueError) as error:
            raise StoreError(
                f"cannot connect to {description} (DATABASE_URL): {reason(error)}"
            ) from None
        database = cls(pool, description)
        try:
            await database._migrate()
        except asyncpg.PostgresError as error:  # e.g. a search_path naming no schema
            await pool.close()
            raise StoreError(f"cannot use {description} as the database: {reason(error)}") from None
        except BaseException:
            await pool.close()
            raise
        return database

    async def close(self) -> None:
        """Close the pool, waiting a while for connections in use to come back; past that, they
        are closed under their users (a stop must not hang on a stuck query)."""
        try:
            await asyncio.wait_for(self.pool.close(), CLOSE_WAIT_SECONDS)
        except TimeoutError:
            log.warning(
                "closing %s: connections still in use after %d s; closed",
                self.description,
                CLOSE_WAIT_SECONDS,
            )
            self.pool.terminate()

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """A read, tried once more on a fresh connection if the first one was lost (after a
        server restart, the pool's idle connections are all dead: only trying tells)."""
        text, args = _arguments(sql, params)
        try:
            return cast("list[Row]", await self.pool.fetch(text, *args))
        except CONNECTION_LOST:
            with _unavailable_on_connection_loss(self.description):
                return cast("list[Row]", await self.pool.fetch(text, *args))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._connection_for_block("BEGIN") as connection:
            try:
                yield PostgresTransaction(connection, self.description)
            except BaseException:
                with contextlib.suppress(*CONNECTION_LOST):
                    await connection.execute("ROLLBACK")
                raise
            with _unavailable_on_connection_loss(self.description):
                await connection.execute("COMMIT")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        async with self._connection_for_block(begin) as connection:
            try:
                yield PostgresSnapshot(connection, self.description)
            finally:
                with contextlib.suppress(*CONNECTION_LOST):
                    await connection.execute("ROLLBACK")

    @asynccontextmanager
    async def exclusive(self, name: str, *, wait: bool) -> AsyncIterator[bool]:
        """A session advisory lock on a connection held for the block: the server frees it when
        the connection ends, so a process that dies holding it frees it."""
        key = "hashtextextended(current_schema() || ':ainews:' || $1, 0)"
        function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        async with self._connection_for_block("SELECT 1") as connection:
            with _unavailable_on_connection_loss(self.description):
                locked = await connection.fetchval(f"SELECT {function}({key})", name)
            held = wait or bool(locked)  # pg_advisory_lock returns once it holds it
            if not held:
                yield False
                return
            try:
                yield True
            finally:
                # If the connection went, the server freed the lock with it.
                with contextlib.suppress(*CONNECTION_LOST):
                    await connection.execute(f"SELECT pg_advisory_unlock({key})", name)

    @asynccontextmanager
    async def _connection_for_block(self, first: str, *args: object) -> AsyncIterator[Connection]:
        """A connection of the pool for a block, on which ``first`` ran (tried once more on a
        fresh connection if the first one was lost). Only acquiring it and ``first`` count as
        the store's trouble: what the block raises goes through as it is."""
        for attempt in (1, 2):
            with _unavailable_on_connection_loss(self.description):
                connection = await self.pool.acquire(timeout=CONNECT_TIMEOUT_SECONDS)
            try:
                await connection.execute(first, *args)
            except CONNECTION_LOST as error:
                await self.pool.release(connection)
                if attempt == 2:
                    raise StoreUnavailable(f"{self.description} is unavailable: {error}") from error
                continue
            except BaseException:  # cancelled: the connection goes back (and is reset) too
                await self.pool.release(connection)
                raise
            break
        try:
            yield connection
        finally:
            await self.pool.release(connection)

    async def schema_version(self) -> int:
        if await self.fetchval("SELECT to_regclass('ainews_schema') IS NULL"):
            return 0
        return int(await self.fetchval("SELECT max(version) FROM ainews_schema") or 0)

    async def table_columns(self, table: str) -> list[str]:
        rows = await self.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = ? AND is_generated = 'NEVER'"
            " ORDER BY ordinal_position",
            (table,),
        )
        return [name for (name,) in rows]

    def group_concat(self, expression: str) -> str:
        return f"string_agg(CAST({expression} AS text), chr(31))"

    async def refresh_statistics(self, tables: Sequence[str]) -> None:
        """``ANALYZE`` them. Without it, right after a first ingest the planner knows no row
        counts and /news sorted a topic's every article through a nested loop over the
        channel's posts: 100 to 280 ms on 5,000 articles instead of 1 to 2 ms (bench/RESULTS.md).
        """
        try:
            await self.pool.execute(f"ANALYZE {', '.join(tables)}")
        except (*CONNECTION_LOST, asyncpg.PostgresError) as error:  # what was saved stays saved
            log.warning(
                "could not analyze %s on %s: %s", ", ".join(tables), self.description, error
            )

    async def backup_to(self, destination: object) -> None:
        raise StoreError(
            f"ainews backup copies SQLite files; the store is {self.description}: back it up "
            "with PostgreSQL's own tools, e.g. pg_dump --format=custom --file=ainews.dump "
            "(restore with pg_restore), or ainews copy-db DATABASE_URL a-new-file.sqlite3"
        )

    async def _migrate(self) -> None:
        known = migrations("postgresql")
        latest = known[-1][0]
        with _unavailable_on_connection_loss(self.description):
            async with self.pool.acquire() as connection, connection.transaction():
                # Processes starting together: one upgrades, the others wait and find it done.
                await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(current_schema()"
                    " || ':ainews:migrate', 0))"
                )
                encoding = await connection.fetchval("SHOW server_encoding")
                if encoding != "UTF8":
                    raise StoreError(
                        f"{self.description} uses the {encoding} encoding: the bot needs a UTF8 "
                        "database (createdb --encoding=UTF8 --template=template0 NAME)"
                    )
                await connection.execute(
                    "CREATE TABLE IF NOT EXISTS ainews_schema (version integer NOT NULL)"
                )
                current = int(
                    await connection.fetchval("SELECT max(version) FROM ainews_schema") or 0
                )
                if current > latest:
                    raise newer_schema_error(self.description, current, latest, "DATABASE_URL")
                for version, name, sql in known:
                    if version <= current:
                        continue
                    try:
                        await connection.execute(sql)
                    except asyncpg.PostgresError as error:
                        raise StoreError(
                            f"migration {name} failed on {self.description}: {error}"
                        ) from error
                    await connection.execute("DELETE FROM ainews_schema")
                    await connection.execute(
                        "INSERT INTO ainews_schema (version) VALUES ($1)", version
                    )
