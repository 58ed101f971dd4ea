"""A sandboxed Discord with the real bot in it: a server, a news channel, a reader and an admin.

``news_bot`` starts the production :class:`NewsBot` against the sandbox with a temporary copy of
the sample corpus and a temporary database, waits for the first corpus scan, and stops it cleanly.
``start_news_bot`` starts another one on the same database (a restart).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import NewsBot
from bot.sandbox import Permission
from bot.sandbox.run_client import run_client
from bot.sandbox.sandbox import Sandbox
from bot.sandbox.state import Channel, Guild, Member
from bot.settings import SAMPLE_CORPUS, Settings
from bot.store.database import Database


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
        settings=Settings(
            discord_token=sandbox.token,
            discord_api_base=sandbox.api_base,
            discord_gateway_url=sandbox.gateway_url,
            news_dir=corpus_dir,
            database_path=tmp_path / "ainews.sqlite3",
            command_guild_ids=(guild.id,),
        ),
    )


@asynccontextmanager
async def start_news_bot(sandbox: Sandbox, settings: Settings) -> AsyncIterator[NewsBot]:
    """The production bot on ``settings``, logged into the sandbox, its corpus scanned."""
    async with await Database.open(settings.database_path) as database:
        bot = NewsBot(settings=settings, database=database, guild_ready_timeout=0.1)
        async with run_client(sandbox, bot):
            await bot.corpus_ready.wait()
            yield bot


@pytest_asyncio.fixture
async def news_bot(sandbox: Sandbox, world: NewsWorld) -> AsyncIterator[NewsBot]:
    async with start_news_bot(sandbox, world.settings) as bot:
        yield bot
