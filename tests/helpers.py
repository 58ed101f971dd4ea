"""Helpers the tests share: article files in the seed's format, and a sandboxed Discord world
with the real bot in it. Fixtures that hand them out live in the conftests.

Article overrides name front-matter fields; ``None`` leaves the field out, and ``extra_yaml`` is
appended verbatim for cases a Python value cannot express.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ainews.app import NewsBot, news_bot_class
from ainews.clock import Clock, utc_now
from ainews.digest import find_marker
from ainews.settings import SAMPLE_CORPUS, Settings
from ainews.store.database import Database
from discord_sandbox.interactions import InteractionResult
from discord_sandbox.run_client import run_client
from discord_sandbox.sandbox import Sandbox
from discord_sandbox.state import Channel, Guild, Member, Message, Role

SEED_FILE = SAMPLE_CORPUS / "sony-microsoft-ai-imaging-chip.md"
#: This checkout: on the PYTHONPATH of the ``python -m ainews`` processes tests start, so they run
#: this code whatever is installed.
CHECKOUT = str(Path(__file__).resolve().parent.parent)

#: Every setting the bot reads; cleared for each settings and CLI test.
SETTING_NAMES = (
    "DISCORD_TOKEN",
    "DISCORD_API_BASE",
    "DISCORD_GATEWAY_URL",
    "NEWS_DIR",
    "DATABASE_PATH",
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "COMMAND_GUILD_IDS",
    "SHARD_COUNT",
    "SHARD_IDS",
    "NEWS_RESCAN_SECONDS",
    "NEWS_WATCH",
    "LOG_LEVEL",
)


def default_fields(slug: str) -> dict[str, Any]:
    """Front matter like the seed's, naming a distinct article for each ``slug``."""
    return {
        "category": "news",
        "title": f"Article {slug} about AI imaging chips",
        "excerpt": f"Excerpt for {slug}: a chip that analyses video without sending data away.",
        "publishedDateTime": datetime(2020, 5, 19, 4, 12, tzinfo=UTC),
        "webUrl": f"https://news.example.com/tech/{slug}",
        "ampWebUrl": f"https://amp.news.example.com/tech/{slug}",
        "cdnAmpWebUrl": f"https://amp-news-example-com.cdn.ampproject.org/c/s/amp.news.example.com/tech/{slug}",
        "type": "article",
        "quality": 115,
        "heat": -1,
        "published": False,
        "provider": {
            "name": "Example News",
            "domain": "news.example.com",
            "images": [
                {"url": "https://static.example.net/news-50x50.png", "width": 50, "height": 50}
            ],
        },
        "topics": ["AI Hardware", "AI"],
        "images": [
            {
                "url": f"https://images.example.org/{slug}.jpg",
                "width": 1200,
                "height": 630,
                "title": f"Article {slug}",
            }
        ],
    }


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one
    if value == {} or value == []:
        return json.dumps(value)
    raise TypeError(f"cannot write {value!r} as YAML")


def _block(value: dict[str, Any] | list[Any], indent: int) -> list[str]:
    """Block mappings and sequences as curators' tools write them (2 spaces, compact ``- k: v``)."""
    pad = " " * indent
    lines: list[str] = []
    pairs = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    for key, item in pairs:
        lead = f"{pad}{key}:" if isinstance(value, dict) else f"{pad}-"
        if isinstance(item, dict | list) and item:
            nested = _block(item, indent + 2)
            if isinstance(value, dict):
                lines += [lead, *nested]
            else:
                lines += [f"{lead} {nested[0].lstrip()}", *nested[1:]]
        else:
            lines.append(f"{lead} {_scalar(item)}")
    return lines


def make_article_text(
    slug: str = "seedlike", *, extra_yaml: str = "", body: str = "Body text.\n", **overrides: Any
) -> str:
    fields = default_fields(slug)
    for name, value in overrides.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    front_matter = "\n".join(_block(fields, 0)) + "\n" + extra_yaml
    return f"---\n{front_matter.rstrip(chr(10))}\n---\n\n{body}"


def write_article_file(directory: Path, name: str, **overrides: Any) -> Path:
    """Write ``directory/name`` (``.md`` added when there is no suffix) in the seed's format."""
    path = directory / name
    if not path.suffix:
        path = path.with_suffix(".md")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(make_article_text(path.stem, **overrides), encoding="utf-8")
    return path


# A sandboxed Discord with the bot in it ---------------------------------------------------


@dataclass
class NewsWorld:
    guild: Guild
    news: Channel
    other: Channel
    reader: Member
    admin: Member
    settings: Settings


class SettableClock:
    """A clock a test moves by hand: ``clock()`` is the current (aware, UTC) time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        assert moment.tzinfo is not None
        self.now = moment.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


async def start_ainews_run(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """``python -m ainews run`` with ``env``, in ``log``'s folder, its output in ``log``."""
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ainews",
            "run",
            env=env,
            cwd=log.parent,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )


# PostgreSQL ------------------------------------------------------------------------------------

POSTGRES_URL = os.environ.get("AINEWS_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
_postgres_problem: list[str] = []  # why the server cannot be used, once asked


async def _require_postgres() -> None:
    """Skip (fail under CI=true) when the test PostgreSQL server cannot be reached."""
    if not _postgres_problem:
        try:
            connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            _postgres_problem.append(f"{type(error).__name__}: {error}")
        else:
            await connection.close()
            _postgres_problem.append("")
    if _postgres_problem[0]:
        reason = f"no PostgreSQL server at {POSTGRES_URL} ({_postgres_problem[0]})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}: CI must run the PostgreSQL tests")
        pytest.skip(reason)


@asynccontextmanager
async def fresh_postgres_schema() -> AsyncIterator[str]:
    """A URL of a new, empty schema on the test server (its search path), dropped after."""
    await _require_postgres()
    schema = f"test_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
    finally:
        await connection.close()
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}search_path={schema}"
    finally:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await connection.close()


@asynccontextmanager
async def start_news_bot(
    sandbox: Sandbox, settings: Settings, *, clock: Clock = utc_now
) -> AsyncIterator[NewsBot]:
    """The production bot on ``settings``, logged into the sandbox, its corpus scanned."""
    async with await Database.open(settings.database_location) as database:
        bot = news_bot_class(settings)(
            settings=settings, database=database, clock=clock, guild_ready_timeout=0.1
        )
        async with run_client(sandbox, bot):
            await bot.corpus_ready.wait()
            yield bot


def post_as(sandbox: Sandbox, member: Member, channel: Channel, content: str) -> Message:
    """A message ``member`` writes in ``channel`` (the bot, without message intents, is not
    told; it sees it in the channel's history)."""
    message = Message(sandbox.world.snowflakes.next(), channel, member.user, content=content)
    sandbox.world.messages[message.id] = message
    channel.messages.append(message)
    return message


async def stop_scheduler(bot: NewsBot) -> None:
    """Stop the bot's digest scheduler loop, for a test that runs each pass itself."""
    await bot.get_cog("DigestCommands").stop_scheduler()  # type: ignore[union-attr]


async def digest_command(
    sandbox: Sandbox,
    world: NewsWorld,
    subcommand: str,
    *,
    member: Member | None = None,
    where: Channel | None = None,
    **options: str | int | bool | Channel | Role,
) -> InteractionResult:
    """``/digest subcommand`` typed by the admin in #general (so that is where the bot reports
    failures to them), for #news unless ``channel`` says otherwise; a deferred answer is
    awaited."""
    if subcommand != "list":
        options.setdefault("channel", world.news)
    result = await sandbox.invoke(
        f"digest {subcommand}",
        member=member or world.admin,
        channel=where or world.other,
        options=options,
    )
    if result.original is not None and result.original.loading:
        await result.wait_for_deferred()
    return result


def digests_posted(sandbox: Sandbox, channel: Channel) -> dict[str, list[Message]]:
    """The digest messages in ``channel`` by delivery marker, each delivery's parts in order."""
    found: dict[str, list[Message]] = {}
    for message in sandbox.channel_messages(channel):
        mark = find_marker(message.content)
        if mark is not None:
            found.setdefault(mark[0], []).append(message)
    return found


def card_titles(messages: list[Message]) -> list[str]:
    return [str(embed["title"]) for message in messages for embed in message.embeds]


async def eventually(check: Callable[[], bool | Awaitable[bool]], within: float = 5.0) -> None:
    """Wait until ``check()`` holds (it may be a coroutine function); TimeoutError after
    ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            outcome = check()
            if outcome if isinstance(outcome, bool) else await outcome:
                return
            await asyncio.sleep(0.02)


async def scheduler_settled(bot: NewsBot) -> bool:
    """No delivery in progress and every active digest scheduled in the bot's future."""
    digests = bot.digests
    if await digests.pending_deliveries():
        return False
    next_due = await digests.next_due_at()
    return next_due is None or next_due > bot.clock()


def write_long_articles(directory: Path, count: int, topic: str = "Deep Dives") -> list[str]:
    """Write ``count`` articles on ``topic`` with large cards (about 1,600 characters each, with
    three long related links), so that a digest of ten needs several messages. Returns their
    titles, newest first; each is a story of its own."""
    titles = []
    for number in range(count):
        slug = f"deep-dive-{number:02d}"
        title = f"Deep dive {number:02d}: " + "what the new accelerators mean for inference " * 6
        titles.append(title[:250].rstrip())
        write_article_file(
            directory,
            f"deep/{slug}",
            title=titles[-1],
            excerpt="A long look at chips, compilers and the cost of serving models. " * 40,
            publishedDateTime=datetime(2026, 12, 31, 12, 0, tzinfo=UTC) - timedelta(hours=number),
            topics=[topic],
            related=[
                {
                    "title": f"Coverage {n} of deep dive {number}",
                    "webUrl": f"https://coverage{n}.example.org/{slug}/" + "analysis-" * 30,
                    "provider": {"name": f"Coverage Outlet {n}"},
                }
                for n in range(3)
            ],
        )
    return titles
