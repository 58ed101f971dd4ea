"""Exactly once, proven with ``kill -9``: the bot runs as ``python -m ainews run`` in its own
process against the sandbox in this one, and is killed at chosen moments of multi-message
digest deliveries. After restarts on the same database, every planned article is in its channel
exactly once, and the ledger says exactly what the channel shows.

Four channels each have a digest due at start-up (created with the store API before the bot
runs; the scheduler's first pass runs as soon as the bot is ready). Each digest is ten long
articles, four messages. The sandbox holds one request per channel, so a single SIGKILL lands at
four different moments:

- #before-first: the first message never reached Discord (held, then dropped);
- #first-stored: Discord stored the first message, the bot never got the answer;
- #between-parts: the first message is recorded, the second never reached Discord;
- #last-stored: Discord stored the last message, the bot never got the answer.

The second run is killed again while it recovers #first-stored (its next message stored, the
answer lost); the third run finishes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from ainews.corpus.article import article_from_json
from ainews.digest import find_marker
from ainews.ingest import ingest_corpus
from ainews.schedule import Schedule
from ainews.store.articles import ArticleRepository
from ainews.store.database import Database
from ainews.store.digests import DigestRepository
from discord_sandbox import Channel, ChannelType, Guild, Permission
from discord_sandbox.faults import HeldRequest
from discord_sandbox.sandbox import Sandbox
from tests.helpers import SETTING_NAMES, eventually, start_ainews_run, write_long_articles

#: Each test starts the bot as a subprocess, several times.
pytestmark = pytest.mark.slow

MESSAGES = "/channels/{channel_id}/messages"
PARTS = 4
ARTICLES = 10
#: Generous bounds: a bot process starts in about 3 s (Python, login, discord.py's 2 s wait
#: for guilds, the corpus scan).
START_WITHIN = 30.0
FINISH_WITHIN = 30.0


@dataclass
class Hold:
    """Hold a channel's ``skip``+1-th message POST, before or after Discord stores it."""

    channel: str
    skip: int
    stored: bool


FIRST_RUN = [
    Hold("before-first", skip=0, stored=False),
    Hold("first-stored", skip=0, stored=True),
    Hold("between-parts", skip=1, stored=False),
    Hold("last-stored", skip=PARTS - 1, stored=True),
]
SECOND_RUN = [Hold("first-stored", skip=0, stored=True)]


@dataclass
class CrashWorld:
    sandbox: Sandbox
    channels: dict[str, Channel]
    env: dict[str, str]
    store: Path | str  #: a SQLite file or a PostgreSQL URL (each test runs on both)
    logs: Path
    runs: int = 0

    def hold(self, plan: list[Hold]) -> list[HeldRequest]:
        return [
            self.sandbox.faults.hold_next(
                "POST",
                MESSAGES,
                params={"channel_id": self.channels[hold.channel].id},
                skip=hold.skip,
                after_handling=hold.stored,
            )
            for hold in plan
        ]

    @contextlib.asynccontextmanager
    async def bot_process(self) -> AsyncIterator[asyncio.subprocess.Process]:
        """``python -m ainews run``; killed on the way out if it still runs."""
        self.runs += 1
        process = await start_ainews_run(self.env, self.logs / f"bot-run-{self.runs}.log")
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()
            await asyncio.wait_for(process.wait(), 10)

    def log_tail(self) -> str:
        texts = [p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("*.log"))]
        return "\n---\n".join(texts)


async def build_crash_world(
    sandbox: Sandbox,
    tmp_path: Path,
    store: Path | str,
    make_channels: Callable[[Guild], dict[str, Channel]],
) -> CrashWorld:
    """A guild with the channels ``make_channels`` makes, each with a digest of ten long
    articles due at start-up, and the settings for ``python -m ainews run``."""
    guild = sandbox.create_guild("AI News")
    sandbox.add_member(guild, "admin", permissions=Permission.MANAGE_GUILD)
    channels = make_channels(guild)
    corpus = tmp_path / "corpus"
    write_long_articles(corpus, ARTICLES)
    async with await Database.open(store) as database:
        report = await ingest_corpus(ArticleRepository(database), corpus)
        assert report.ingested == ARTICLES and not report.rejected
        digests = DigestRepository(database)
        for channel in channels.values():
            await digests.subscribe(
                channel_id=channel.id,
                guild_id=guild.id,
                topic_key="deep dives",
                schedule=Schedule(time(9, 0), "UTC", frozenset(range(7))),
                max_items=ARTICLES,
                next_run_at=datetime.now(UTC) - timedelta(minutes=1),  # due at start-up
                notify_channel_id=None,
            )
            if channel.type is ChannelType.FORUM:
                await digests.set_kind(channel.id, "forum")
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {name: value for name, value in os.environ.items() if name not in SETTING_NAMES}
    env |= {
        "DISCORD_TOKEN": sandbox.token,
        "DISCORD_API_BASE": sandbox.api_base,
        "DISCORD_GATEWAY_URL": sandbox.gateway_url,
        "NEWS_DIR": str(corpus),
        **({"DATABASE_URL": store} if isinstance(store, str) else {"DATABASE_PATH": str(store)}),
        "COMMAND_GUILD_IDS": str(guild.id),
        "LOG_LEVEL": "INFO",
        "NEWS_WATCH": "false",
    }
    return CrashWorld(sandbox, channels, env, store, logs)


@pytest_asyncio.fixture
async def crash_world(sandbox: Sandbox, tmp_path: Path, store_location: Path | str) -> CrashWorld:
    return await build_crash_world(
        sandbox,
        tmp_path,
        store_location,
        lambda guild: {h.channel: sandbox.create_channel(guild, h.channel) for h in FIRST_RUN},
    )


async def kill_when_held(
    world: CrashWorld, process: asyncio.subprocess.Process, held: list[HeldRequest]
) -> None:
    """SIGKILL the bot once every held request is in, then let the sandbox finish them."""
    try:
        async with asyncio.timeout(START_WITHIN):
            await asyncio.gather(*(request.arrived.wait() for request in held))
    except TimeoutError:
        pytest.fail(f"the held requests never all arrived\n{world.log_tail()}")
    process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(process.wait(), 10)
    assert process.returncode == -signal.SIGKILL
    for request in held:
        # Held before handling: it never reaches Discord. Held after: Discord stored it, and
        # its answer goes to a closed connection.
        if request.after_handling:
            request.release()
        else:
            request.drop()


async def deliveries(world: CrashWorld) -> list[tuple[int, int, str, str]]:
    async with await Database.open(world.store) as database:
        rows = await database.fetch(
            "SELECT id, channel_id, marker, state FROM deliveries ORDER BY id"
        )
    return [(int(i), int(c), str(m), str(s)) for i, c, m, s in rows]


async def all_sent(world: CrashWorld) -> bool:
    found = await deliveries(world)
    return len(found) == len(world.channels) and all(state == "sent" for *_, state in found)


def posted(world: CrashWorld) -> dict[str, int]:
    return {name: len(world.sandbox.channel_messages(c)) for name, c in world.channels.items()}


async def test_sigkill_at_any_moment_of_a_delivery_neither_repeats_nor_loses_an_article(
    crash_world: CrashWorld,
) -> None:
    world = crash_world

    # Run 1: killed with each channel's delivery at its own moment.
    held = world.hold(FIRST_RUN)
    async with world.bot_process() as process:
        await kill_when_held(world, process, held)
    assert posted(world) == {
        "before-first": 0,
        "first-stored": 1,
        "between-parts": 1,
        "last-stored": PARTS,
    }
    first_deliveries = await deliveries(world)
    assert len(first_deliveries) == len(world.channels)
    assert all(state == "pending" for *_, state in first_deliveries)

    # Run 2: killed again while it recovers #first-stored.
    held = world.hold(SECOND_RUN)
    async with world.bot_process() as process:
        await kill_when_held(world, process, held)
    assert posted(world)["first-stored"] >= 2

    # Run 3: nothing held; every delivery is resolved.
    async with world.bot_process() as process:
        try:
            await eventually(lambda: all_sent(world), within=FINISH_WITHIN)
        except TimeoutError:
            pytest.fail(f"the deliveries were not all resolved\n{world.log_tail()}")
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)

    # The same deliveries, no new ones, and each channel shows each of them exactly once.
    assert [d[:3] for d in await deliveries(world)] == [d[:3] for d in first_deliveries]
    markers = {channel: marker for _, channel, marker, _ in first_deliveries}
    async with await Database.open(world.store) as database:
        planned_rows = await database.fetch(
            "SELECT d.channel_id, i.part, a.data FROM delivery_items AS i"
            " JOIN deliveries AS d ON d.id = i.delivery_id"
            " JOIN articles AS a ON a.id = i.article_id ORDER BY i.part, i.position"
        )
        ledger_rows = await database.fetch(
            "SELECT l.channel_id, l.message_id, a.data FROM ledger AS l"
            " JOIN articles AS a ON a.id = l.article_id ORDER BY l.seq"
        )
        digests = await DigestRepository(database).for_guild(
            next(iter(world.channels.values())).guild.id
        )

    for name, channel in world.channels.items():
        messages = world.sandbox.channel_messages(channel)
        context = f"#{name}\n{world.log_tail()}"
        assert [find_marker(m.content) for m in messages] == [
            (markers[channel.id], part, PARTS) for part in range(PARTS)
        ], context
        shown = [(m.id, embed["url"]) for m in messages for embed in m.embeds]
        urls = [url for _, url in shown]
        planned = [article_from_json(d).url for c, _, d in planned_rows if c == channel.id]
        assert len(planned) == ARTICLES and len(set(planned)) == ARTICLES
        assert sorted(urls) == sorted(planned), context  # nothing lost, nothing twice
        recorded = [(m, article_from_json(d).url) for c, m, d in ledger_rows if c == channel.id]
        assert sorted(recorded) == sorted(shown), context  # the ledger matches the channel

    assert all(d.status == "active" and d.next_run_at > datetime.now(UTC) for d in digests)
    assert world.sandbox.counters.internal_errors == []


async def test_sigkill_during_a_forum_digest_leaves_one_post_with_every_part_once(
    sandbox: Sandbox, tmp_path: Path, store_location: Path | str
) -> None:
    """Killed once after Discord made the post but before the bot heard of it, and once after
    Discord stored a later part: the next start finds the post by its marker, finds the parts
    already in it, and sends only the rest, into that post."""
    world = await build_crash_world(
        sandbox,
        tmp_path,
        store_location,
        lambda guild: {"forum": sandbox.create_forum(guild, "forum", tags=["Deep Dives"])},
    )
    forum = world.channels["forum"]
    posts_route = "/channels/{channel_id}/threads"

    held = [sandbox.faults.hold_next("POST", posts_route, after_handling=True)]
    async with world.bot_process() as process:
        await kill_when_held(world, process, held)
    (post,) = sandbox.forum_posts(forum)
    assert len(sandbox.channel_messages(post)) == 1

    held = [sandbox.faults.hold_next("POST", MESSAGES, skip=1, after_handling=True)]
    async with world.bot_process() as process:
        await kill_when_held(world, process, held)
    assert len(sandbox.forum_posts(forum)) == 1
    assert len(sandbox.channel_messages(post)) == 3

    async with world.bot_process() as process:
        try:
            await eventually(lambda: all_sent(world), within=FINISH_WITHIN)
        except TimeoutError:
            pytest.fail(f"the forum delivery was not resolved\n{world.log_tail()}")
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)

    (only_post,) = sandbox.forum_posts(forum)
    assert only_post.id == post.id and only_post.applied_tags == [forum.tag("Deep Dives").id]
    messages = sandbox.channel_messages(post)
    ((_, _, marker, _),) = await deliveries(world)
    assert [find_marker(m.content) for m in messages] == [
        (marker, part, PARTS) for part in range(PARTS)
    ], world.log_tail()
    urls = [embed["url"] for m in messages for embed in m.embeds]
    assert len(urls) == len(set(urls)) == ARTICLES
    async with await Database.open(world.store) as database:
        recorded = await database.fetch(
            "SELECT DISTINCT message_id FROM ledger ORDER BY message_id"
        )
    assert [row[0] for row in recorded] == [m.id for m in messages]
