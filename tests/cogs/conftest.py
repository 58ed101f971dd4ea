"""A sandboxed Discord with the real bot in it: a server, a news channel, a reader and an admin.

``news_bot`` starts the production :class:`NewsBot` against the sandbox with a temporary copy of
the sample corpus and a temporary database, waits for the first corpus scan, and stops it cleanly.
``start_news_bot`` starts another one on the same database (a restart). ``clock`` is a settable
clock and ``clocked_bot`` a bot that reads its time from it, so schedules run without waiting.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from ainews.app import NewsBot
from ainews.clock import Clock, utc_now
from ainews.demo import sandbox_settings
from ainews.digest import find_marker
from ainews.settings import SAMPLE_CORPUS, Settings
from ainews.store.database import Database
from discord_sandbox import Permission
from discord_sandbox.interactions import InteractionResult
from discord_sandbox.run_client import run_client
from discord_sandbox.sandbox import Sandbox
from discord_sandbox.state import Channel, Guild, Member, Message
from tests.conftest import write_article_file


@dataclass
class NewsWorld:
    guild: Guild
    news: Channel
    other: Channel
    reader: Member
    admin: Member
    settings: Settings


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, target)
    return target


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path, corpus_dir: Path) -> NewsWorld:
    guild = sandbox.create_guild("AI News")
    return NewsWorld(
        guild=guild,
        news=sandbox.create_channel(guild, "news"),
        other=sandbox.create_channel(guild, "general"),
        reader=sandbox.add_member(guild, "reader"),
        admin=sandbox.add_member(guild, "admin", permissions=Permission.MANAGE_GUILD),
        settings=sandbox_settings(
            sandbox, guild, news_dir=corpus_dir, database_path=tmp_path / "ainews.sqlite3"
        ),
    )


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


@asynccontextmanager
async def start_news_bot(
    sandbox: Sandbox, settings: Settings, *, clock: Clock = utc_now
) -> AsyncIterator[NewsBot]:
    """The production bot on ``settings``, logged into the sandbox, its corpus scanned."""
    async with await Database.open(settings.database_path) as database:
        bot = NewsBot(settings=settings, database=database, clock=clock, guild_ready_timeout=0.1)
        async with run_client(sandbox, bot):
            await bot.corpus_ready.wait()
            yield bot


@pytest_asyncio.fixture
async def news_bot(sandbox: Sandbox, world: NewsWorld) -> AsyncIterator[NewsBot]:
    async with start_news_bot(sandbox, world.settings) as bot:
        yield bot


@pytest.fixture
def clock() -> SettableClock:
    """Monday 1 February 2027, 08:00 UTC (a winter day: Paris is UTC+1, New York UTC-5)."""
    return SettableClock(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))


@pytest_asyncio.fixture
async def clocked_bot(
    sandbox: Sandbox, world: NewsWorld, clock: SettableClock
) -> AsyncIterator[NewsBot]:
    """The production bot whose every notion of "now" is ``clock``."""
    async with start_news_bot(sandbox, world.settings, clock=clock) as bot:
        yield bot


# Digests ----------------------------------------------------------------------------------------


async def digest_command(
    sandbox: Sandbox,
    world: NewsWorld,
    subcommand: str,
    *,
    member: Member | None = None,
    where: Channel | None = None,
    **options: str | int | Channel,
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
