"""A sandboxed Discord with the real bot in it: a server, a news channel, a reader and an admin.

``world`` builds it (with a temporary copy of the sample corpus and a temporary database, on each
engine: see ``store_location`` in ``tests/conftest.py``);
``news_bot`` starts the production :class:`NewsBot` in it and waits for the first corpus scan.
``clock`` is a settable clock and ``clocked_bot`` a bot that reads its time from it, so schedules
run without waiting. Restarts and the digest helpers are in ``tests/helpers.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from ainews.app import NewsBot
from ainews.demo import sandbox_settings
from ainews.settings import SAMPLE_CORPUS
from discord_sandbox import Permission, SandboxConfig
from discord_sandbox.sandbox import Sandbox
from tests.helpers import NewsWorld, SettableClock, start_news_bot, stop_scheduler


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Discord's numbers, but a bot restarted in the same sandbox may IDENTIFY again at once:
    Discord allows one IDENTIFY per 5 s (the sandbox answers a quicker one with op 9, and
    discord.py then waits 5 s), which would only add 5 s to every restart test."""
    return SandboxConfig(identify_window=0.0)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, target)
    return target


@pytest.fixture
def world(
    sandbox: Sandbox, tmp_path: Path, corpus_dir: Path, store_location: Path | str
) -> NewsWorld:
    """The server, its members and channels, and the bot's settings: on each store engine."""
    guild = sandbox.create_guild("AI News")
    return NewsWorld(
        guild=guild,
        news=sandbox.create_channel(guild, "news"),
        other=sandbox.create_channel(guild, "general"),
        reader=sandbox.add_member(guild, "reader"),
        admin=sandbox.add_member(guild, "admin", permissions=Permission.MANAGE_GUILD),
        # Tests change the corpus and rescan by hand: a rescan on their changes, at a moment of
        # its own, would race with theirs. tests/cogs/test_corpus_watching.py turns it on.
        settings=sandbox_settings(
            sandbox,
            guild,
            news_dir=corpus_dir,
            database_path=tmp_path / "ainews.sqlite3",
            database_url=store_location if isinstance(store_location, str) else None,
            news_watch=False,
        ),
    )


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
    """The production bot whose every notion of "now" is ``clock``. Its scheduler loop is
    stopped: the test moves the clock and runs each pass itself (``bot.deliverer.run_due()``,
    the loop's body), so no pass races the test's."""
    async with start_news_bot(sandbox, world.settings, clock=clock) as bot:
        await stop_scheduler(bot)
        yield bot


# Digests ----------------------------------------------------------------------------------------
