"""Settings, read once at start from the environment and a ``.env`` file in the working directory.

The environment wins over ``.env``. Every value is validated here, and a bad one stops start-up
with a :class:`SettingsError` naming the setting. The Discord token is never shown: not in
messages, not in ``repr``, not in logs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: Discord's own endpoints, the defaults of ``DISCORD_API_BASE`` and ``DISCORD_GATEWAY_URL``
#: (here, not beside the code that sets them in discord.py: ``ainews ingest`` and ``check`` read
#: settings without importing discord.py).
DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
SAMPLE_CORPUS = Path(__file__).parent / "sample_corpus"
DEFAULT_DATABASE_PATH = Path("data") / "ainews.sqlite3"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_RESCAN_SECONDS = 5


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names it and says what is accepted."""


@dataclass(frozen=True, slots=True)
class Settings:
    discord_token: str | None = field(default=None, repr=False)
    discord_api_base: str = DISCORD_API_BASE
    discord_gateway_url: str = DISCORD_GATEWAY_URL
    news_dir: Path = SAMPLE_CORPUS
    database_path: Path = DEFAULT_DATABASE_PATH
    command_guild_ids: tuple[int, ...] = ()
    news_rescan_seconds: int = 300
    log_level: str = "INFO"

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
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
            command_guild_ids=_guild_ids(get("COMMAND_GUILD_IDS")),
            news_rescan_seconds=_rescan_seconds(get("NEWS_RESCAN_SECONDS")),
            log_level=_log_level(get("LOG_LEVEL")),
        )

    def require_token(self) -> str:
        if not self.discord_token:
            raise SettingsError(
                "DISCORD_TOKEN is not set: put the bot token from the Discord developer portal in "
                "the environment or in .env (see .env.example)"
            )
        return self.discord_token


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines; ``#`` comments, blank lines, ``export`` and quotes allowed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read {path}: {error}") from None
    values = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise SettingsError(f"{path}, line {number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def _url(name: str, value: str | None, default: str, schemes: tuple[str, ...]) -> str:
    if value is None:
        return default
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        expected = " or ".join(f"{scheme}://" for scheme in schemes)
        raise SettingsError(f"{name} must be an absolute {expected} URL, got {value!r}")
    return value


def _guild_ids(value: str | None) -> tuple[int, ...]:
    if value is None:
        return ()
    ids = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        if not (item.isascii() and item.isdigit()) or int(item) == 0:
            raise SettingsError(
                f"COMMAND_GUILD_IDS must be server ids (numbers) separated by commas, got {item!r}"
            )
        ids.append(int(item))
    return tuple(ids)


def _rescan_seconds(value: str | None) -> int:
    if value is None:
        return 300
    try:
        seconds = int(value)
    except ValueError:
        seconds = -1
    if seconds < MIN_RESCAN_SECONDS:
        raise SettingsError(
            f"NEWS_RESCAN_SECONDS must be a whole number of seconds, at least "
            f"{MIN_RESCAN_SECONDS}, got {value!r}"
        )
    return seconds


def _log_level(value: str | None) -> str:
    level = (value or "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


def log_level_number(settings: Settings) -> int:
    return logging.getLevelNamesMapping()[settings.log_level]
