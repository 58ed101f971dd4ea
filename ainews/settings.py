"""Settings, read once at start from the environment and a ``.env`` file in the working directory.

The environment wins over ``.env``. Every value is validated here, and a bad one stops start-up
with a :class:`SettingsError` naming the setting. The Discord token is never shown: not in
messages, not in ``repr``, not in logs.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from ainews.sharding import Shards, format_ranges, parse_ranges

#: Discord's own endpoints, the defaults of ``DISCORD_API_BASE`` and ``DISCORD_GATEWAY_URL``
#: (here, not beside the code that sets them in discord.py: ``ainews ingest`` and ``check`` read
#: settings without importing discord.py).
DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
SAMPLE_CORPUS = Path(__file__).parent / "sample_corpus"
DEFAULT_DATABASE_PATH = Path("data") / "ainews.sqlite3"
#: The settings file, in the working directory.
DOTENV = Path(".env")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_RESCAN_SECONDS = 5
#: A week: longer intervals are surely a typo (and past ~10**11 s the loop's clock overflows).
MAX_RESCAN_SECONDS = 7 * 24 * 3600
#: PostgreSQL connections a process keeps at most (DATABASE_POOL_SIZE): commands, digests and a
#: rescan at once need a few; each process of a deployment has its own pool.
DEFAULT_POOL_SIZE = 10
#: An ingest holds one connection for its lock and writes through another.
MIN_POOL_SIZE = 2
MAX_POOL_SIZE = 200
#: More shards than any bot has (Discord's largest run tens of thousands): surely a typo.
MAX_SHARDS = 100_000
#: Discord ids are 64-bit snowflakes; SQLite stores them as signed 64-bit integers.
MAX_SNOWFLAKE = 2**63 - 1


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names it and says what is accepted."""


@dataclass(frozen=True, slots=True)
class Settings:
    discord_token: str | None = field(default=None, repr=False)
    discord_api_base: str = DISCORD_API_BASE
    discord_gateway_url: str = DISCORD_GATEWAY_URL
    news_dir: Path = SAMPLE_CORPUS
    database_path: Path = DEFAULT_DATABASE_PATH
    #: A ``postgresql://`` URL: the store is that PostgreSQL database, not DATABASE_PATH's file.
    #: It may hold a password: never shown (see :attr:`database_description`).
    database_url: str | None = field(default=None, repr=False)
    #: Connections the PostgreSQL pool keeps at most.
    database_pool_size: int = DEFAULT_POOL_SIZE
    command_guild_ids: tuple[int, ...] = ()
    #: The shards this process holds (SHARD_COUNT, SHARD_IDS); None: one process, as many
    #: shards as Discord recommends.
    shards: Shards | None = None
    news_rescan_seconds: int = 300
    #: Pick up changes to NEWS_DIR as they happen (file-system notifications), besides the rescans.
    news_watch: bool = True
    log_level: str = "INFO"

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = DOTENV
    ) -> Settings:
        """Settings from ``.env`` overlaid with ``environ`` (default: ``os.environ``)."""
        values = dict(read_dotenv(dotenv)) if dotenv is not None else {}
        values.update(os.environ if environ is None else environ)
        return cls.from_values(values)

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = values.get(name, "").strip()
            return value or None

        return cls(
            discord_token=get("DISCORD_TOKEN"),
            discord_api_base=_url(
                "DISCORD_API_BASE", get("DISCORD_API_BASE"), DISCORD_API_BASE, ("http", "https")
            ),
            discord_gateway_url=_url(
                "DISCORD_GATEWAY_URL",
                get("DISCORD_GATEWAY_URL"),
                DISCORD_GATEWAY_URL,
                ("ws", "wss"),
            ),
            news_dir=Path(get("NEWS_DIR") or SAMPLE_CORPUS).expanduser(),
            database_path=Path(get("DATABASE_PATH") or DEFAULT_DATABASE_PATH).expanduser(),
            database_url=_database_url(get("DATABASE_URL")),
            database_pool_size=_pool_size(get("DATABASE_POOL_SIZE")),
            command_guild_ids=_guild_ids(get("COMMAND_GUILD_IDS")),
            shards=_shards(get("SHARD_COUNT"), get("SHARD_IDS"), get("DATABASE_URL")),
            news_rescan_seconds=_rescan_seconds(get("NEWS_RESCAN_SECONDS")),
            news_watch=_flag("NEWS_WATCH", get("NEWS_WATCH"), default=True),
            log_level=_log_level(get("LOG_LEVEL")),
        )

    @property
    def database_location(self) -> str | Path:
        """The store to open: DATABASE_URL's database if set, else DATABASE_PATH's file."""
        return self.database_url or self.database_path

    @property
    def database_description(self) -> str:
        """The store, for logs and messages: DATABASE_URL without its password, or the file."""
        if self.database_url:
            return f"DATABASE_URL {describe_url(self.database_url)}"
        return f"DATABASE_PATH {self.database_path.absolute()}"

    @property
    def uses_sample_corpus(self) -> bool:
        """NEWS_DIR is the bundled sample corpus (fictional articles): fine for a demo, a trap for
        a real server."""
        return self.news_dir.resolve() == SAMPLE_CORPUS.resolve()

    def require_news_dir(self) -> Path:
        """NEWS_DIR, checked to be a folder this process can list."""
        where = self.news_dir
        if not where.is_absolute():
            where = Path.cwd() / where
        try:
            with os.scandir(where):
                pass
        except FileNotFoundError:
            raise SettingsError(
                f"NEWS_DIR is {where}, which does not exist: set NEWS_DIR to your corpus folder "
                "(in the environment or in .env)"
            ) from None
        except NotADirectoryError:
            raise SettingsError(
                f"NEWS_DIR is {where}, which is a file: set NEWS_DIR to the folder of your "
                "article files"
            ) from None
        except OSError as error:
            raise SettingsError(
                f"NEWS_DIR is {where}, which cannot be read ({error.strerror}): give the user "
                "running ainews read access to it, or set NEWS_DIR to another folder"
            ) from None
        return self.news_dir

    def require_token(self) -> str:
        if not self.discord_token:
            raise SettingsError(
                "DISCORD_TOKEN is not set: put the bot token from the Discord developer portal in "
                "the environment or in .env (see .env.example)"
            )
        return self.discord_token


def read_dotenv(path: Path) -> dict[str, str]:
    """The ``KEY=value`` lines of ``path``, read by python-dotenv as operators expect: ``#``
    comments (also after a value), blank lines, an ``export`` prefix, single and double quotes,
    ``${VAR}`` expanded. A line that is not a setting, such as a token pasted alone, is refused
    naming the line, not its content."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        raise SettingsError(f"cannot read {path}: it is not UTF-8 text") from None
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            statement = binding.original.string  # from the end of the last one: blank lines first
            blank = statement[: len(statement) - len(statement.lstrip())].count("\n")
            line = binding.original.line + blank
            raise SettingsError(f"{path}, line {line}: expected KEY=value")
    values = dotenv_values(stream=io.StringIO(text))
    return {key: value for key, value in values.items() if value is not None}


def _url(name: str, value: str | None, default: str, schemes: tuple[str, ...]) -> str:
    if value is None:
        return default
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        expected = " or ".join(f"{scheme}://" for scheme in schemes)
        raise SettingsError(f"{name} must be an absolute {expected} URL, got {value!r}")
    return value


def describe_url(url: str) -> str:
    """The server and database a PostgreSQL URL names, for messages: never its password."""
    parts = urlsplit(url)
    try:
        host = parts.hostname or "localhost"
        port = parts.port or 5432
    except ValueError:  # a port that is not a number
        return "PostgreSQL (not a valid URL)"
    database = unquote(parts.path.lstrip("/")) or parts.username or "postgres"
    socket = dict(parse_qsl(parts.query)).get("host")
    if socket and not parts.hostname:  # the server's socket folder (postgresql:///db?host=/run)
        return f"PostgreSQL database {database} at {socket}"
    return f"PostgreSQL database {database} at {host}:{port}"


def _database_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    example = "postgresql://ainews:PASSWORD@db.example.org:5432/ainews"
    if parts.scheme not in ("postgresql", "postgres"):
        shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise SettingsError(
            f"DATABASE_URL must be a postgresql:// URL such as {example}, got {shown} "
            "(for SQLite, leave DATABASE_URL empty and set DATABASE_PATH)"
        )
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError:
        raise SettingsError(
            f"DATABASE_URL names host {parts.hostname or '?'} with a port that is not a number: "
            f"expected a URL such as {example}"
        ) from None
    return value


def _pool_size(value: str | None) -> int:
    if value is None:
        return DEFAULT_POOL_SIZE
    size = int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else 0
    if not MIN_POOL_SIZE <= size <= MAX_POOL_SIZE:
        raise SettingsError(
            f"DATABASE_POOL_SIZE must be a whole number of connections from {MIN_POOL_SIZE} to "
            f"{MAX_POOL_SIZE}, "
            f"got {value[:40]!r}"
        )
    return size


def _shards(count: str | None, ids: str | None, database_url: str | None) -> Shards | None:
    if count is None:
        if ids is not None:
            raise SettingsError(
                "SHARD_IDS needs SHARD_COUNT, the number of shards of the whole deployment "
                f"(SHARD_IDS is {ids[:40]!r})"
            )
        return None
    total = int(count) if _whole(count) else 0
    if not 1 <= total <= MAX_SHARDS:
        raise SettingsError(
            f"SHARD_COUNT must be a whole number of shards from 1 to {MAX_SHARDS}, got "
            f"{count[:40]!r}"
        )
    try:
        held = parse_ranges(ids) if ids is not None else tuple(range(total))
    except ValueError as error:
        raise SettingsError(
            f"SHARD_IDS must be shard ids or ranges such as 0-3,8: {error}"
        ) from None
    if held[-1] >= total:
        raise SettingsError(
            f"SHARD_IDS names shard {held[-1]}, but SHARD_COUNT {total} has shards 0 to {total - 1}"
        )
    shards = Shards(total, held)
    if not shards.all and database_url is None:
        raise SettingsError(
            f"SHARD_IDS {format_ranges(held)} leaves the other shards of SHARD_COUNT {total} to "
            "other processes, and processes that share the work need one PostgreSQL database "
            "(DATABASE_URL): a SQLite file serves one process"
        )
    return shards


def _whole(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 6


def _guild_ids(value: str | None) -> tuple[int, ...]:
    if value is None:
        return ()
    ids = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        if not (item.isascii() and item.isdigit()) or not 0 < int(item) <= MAX_SNOWFLAKE:
            raise SettingsError(
                "COMMAND_GUILD_IDS must be server ids (numbers of up to 19 digits, as Discord's "
                f"Copy Server ID gives them) separated by commas, got {item[:40]!r}"
            )
        ids.append(int(item))
    return tuple(ids)


def _rescan_seconds(value: str | None) -> int:
    if value is None:
        return 300
    seconds = int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else -1
    if not MIN_RESCAN_SECONDS <= seconds <= MAX_RESCAN_SECONDS:
        raise SettingsError(
            f"NEWS_RESCAN_SECONDS must be a whole number of seconds from {MIN_RESCAN_SECONDS} to "
            f"{MAX_RESCAN_SECONDS} (a week), got {value[:40]!r}"
        )
    return seconds


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _flag(name: str, value: str | None, *, default: bool) -> bool:
    if value is None:
        return default
    if value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise SettingsError(f"{name} must be true or false, got {value[:40]!r}")


def _log_level(value: str | None) -> str:
    level = (value or "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


def log_level_number(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level]
