"""Digest fan-out benchmark: one scheduler pass delivering a digest to every channel at once.

    python bench/fanout_benchmark.py [--channels 1000]

Builds a sandboxed Discord (``discord_sandbox``, which enforces Discord's global limit of 50
requests/s per bot token and 5 messages per 5 s per channel) with one guild of ``--channels``
text channels, the bot allowed View Channel, Send Messages, Embed Links and Read Message History
in each. The bundled sample corpus is ingested and every channel subscribed (directly in the
store: setup, not the measured part) to a digest of a few topics with ``max_items`` small enough
for one message, all due in the same minute.

The production ``NewsBot`` is then started against the sandbox with an injected clock one hour
*before* that minute, so its start-up work (corpus scan, command sync, the scheduler loop's first
pass) finds nothing due. The scheduler loop is then cancelled through the digest cog and its task
awaited, so nothing but the measured call delivers. The clock is moved to the due minute and the
wall time of one ``await bot.deliverer.run_due()`` is measured: it returns when every delivery
has finished, i.e. when Discord (the sandbox) has accepted every channel's message.

Afterwards every channel is checked for exactly one digest message, and one report is printed:
total time, the floor that 50 requests/s sets (messages / 50), the ratio to it, achieved
requests/s, 429s and invalid requests counted by the sandbox, peak RSS and the machine.
The sandbox runs in the same process and event loop as the bot (as in the tests), so its own
CPU time is included: the figures are, if anything, pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

from ainews.app import NewsBot
from ainews.delivery import DeliveryResult, Outcome
from ainews.demo import sandbox_settings
from ainews.digest import find_marker
from ainews.ingest import ingest_corpus
from ainews.schedule import Schedule
from ainews.settings import SAMPLE_CORPUS
from ainews.store.articles import ArticleRepository
from ainews.store.catalog import NewsCatalog
from ainews.store.database import Database
from ainews.store.digests import DigestRepository
from discord_sandbox import Permission
from discord_sandbox.run_client import run_client
from discord_sandbox.sandbox import Sandbox
from discord_sandbox.state import Channel

GLOBAL_LIMIT_PER_SECOND = 50
TARGET_RATIO = 1.2
#: The minute every digest is due (a Monday, 09:00 UTC).
DUE_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOPICS_PER_DIGEST = 3
MAX_ITEMS = 3
BOT_PERMISSIONS = (
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.READ_MESSAGE_HISTORY
)
POST_MESSAGE = "POST /channels/{channel_id}/messages"


class BenchClock:
    """The bot's clock: a settable instant that then advances with real (monotonic) time."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def set(self, moment: datetime) -> None:
        self._base = moment
        self._since = time.monotonic()

    def __call__(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._since)


@dataclass
class Measurement:
    channels: int
    messages: int
    seconds: float
    cpu_seconds: float
    requests: int
    rate_limited: int
    invalid: int
    outcomes: dict[str, int]
    problems: list[str]
    rss_mb: float
    setup_seconds: float
    startup_seconds: float
    topics: int


async def prepare_store(database: Database, channels: Sequence[Channel], guild_id: int) -> int:
    """Ingest the sample corpus and subscribe every channel; returns the topics available."""
    report = await ingest_corpus(ArticleRepository(database), SAMPLE_CORPUS)
    if report.rejected:
        raise SystemExit(f"the sample corpus has rejected files: {report.rejected[:3]}")
    topics = [t.key for t in await NewsCatalog(database).topics()]
    if len(topics) < TOPICS_PER_DIGEST:
        raise SystemExit("the sample corpus has too few topics for the benchmark")
    digests = DigestRepository(database)
    schedule = Schedule(day_time(9, 0), "UTC", frozenset(range(7)))
    for index, channel in enumerate(channels):
        # A different mix of topics per channel (the busiest ones and the rest, round-robin).
        for offset in range(TOPICS_PER_DIGEST):
            await digests.subscribe(
                channel_id=channel.id,
                guild_id=guild_id,
                topic_key=topics[(index + offset * 7) % len(topics)],
                schedule=schedule,
                max_items=MAX_ITEMS,
                next_run_at=DUE_AT,
                notify_channel_id=None,
            )
    return len(topics)


async def stop_scheduler(bot: NewsBot) -> None:
    """Stop the digest cog's scheduler, so that only the measured pass delivers."""
    cog = bot.get_cog("DigestCommands")
    stop = getattr(cog, "stop_scheduler", None)
    if stop is None:
        raise SystemExit("the digest cog's scheduler was not found")
    await stop()


def check_channels(
    sandbox: Sandbox, channels: Sequence[Channel], results: Sequence[DeliveryResult]
) -> list[str]:
    """Every channel holds exactly one message: the bot's digest, in one part."""
    problems = []
    bot_id = sandbox.bot_user.id
    for channel in channels:
        messages = sandbox.channel_messages(channel)
        if len(messages) != 1:
            problems.append(f"#{channel.name}: {len(messages)} messages")
            continue
        message = messages[0]
        mark = find_marker(message.content)
        if message.author.id != bot_id or mark is None or mark[1:] != (0, 1):
            problems.append(f"#{channel.name}: not a one-part digest message")
        elif not message.embeds:
            problems.append(f"#{channel.name}: digest without cards")
    not_sent = [r for r in results if r.outcome is not Outcome.SENT]
    problems += [f"channel {r.channel_id}: {r.outcome.value} {r.reason or ''}" for r in not_sent]
    if len(results) != len(channels):
        problems.append(f"{len(results)} deliveries for {len(channels)} channels")
    return problems


async def measure(channel_count: int, workdir: Path) -> Measurement:
    setup_started = time.perf_counter()
    async with Sandbox() as sandbox:
        guild = sandbox.create_guild("Fan-out")
        channels = [
            sandbox.create_channel(guild, f"news-{n:04d}", bot_permissions=BOT_PERMISSIONS)
            for n in range(channel_count)
        ]
        database_path = workdir / "fanout.sqlite3"
        async with await Database.open(database_path) as database:
            topics = await prepare_store(database, channels, guild.id)
        settings = sandbox_settings(
            sandbox, guild, news_dir=SAMPLE_CORPUS, database_path=database_path
        )
        setup_seconds = time.perf_counter() - setup_started

        clock = BenchClock(DUE_AT - timedelta(hours=1))
        startup_started = time.perf_counter()
        async with await Database.open(database_path) as database:
            bot = NewsBot(
                settings=settings, database=database, clock=clock, guild_ready_timeout=0.1
            )
            async with run_client(sandbox, bot, ready_timeout=60.0):
                await bot.corpus_ready.wait()  # the start-up corpus scan is done
                await stop_scheduler(bot)
                if sandbox.sync_count(guild) != 1 or sandbox.counters.requests[POST_MESSAGE]:
                    raise SystemExit("start-up did not go as expected (sync, or early posts)")
                startup_seconds = time.perf_counter() - startup_started

                clock.set(DUE_AT + timedelta(seconds=5))
                counters = sandbox.counters
                requests_before = sum(counters.requests.values())
                limited_before = counters.rate_limited
                invalid_before = counters.invalid_requests
                cpu_started = time.process_time()
                started = time.perf_counter()
                results = await bot.deliverer.run_due()
                seconds = time.perf_counter() - started
                cpu_seconds = time.process_time() - cpu_started
                requests = sum(counters.requests.values()) - requests_before
                rate_limited = counters.rate_limited - limited_before
                invalid = counters.invalid_requests - invalid_before
        if sandbox.counters.internal_errors:
            raise SystemExit(f"sandbox errors: {sandbox.counters.internal_errors[:3]}")
        problems = check_channels(sandbox, channels, results)
        messages = sum(len(sandbox.channel_messages(c)) for c in channels)
    outcomes: dict[str, int] = {}
    for result in results:
        outcomes[result.outcome.value] = outcomes.get(result.outcome.value, 0) + 1
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return Measurement(
        channels=channel_count,
        messages=messages,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        requests=requests,
        rate_limited=rate_limited,
        invalid=invalid,
        outcomes=outcomes,
        problems=problems,
        rss_mb=own + children,
        setup_seconds=setup_seconds,
        startup_seconds=startup_seconds,
        topics=topics,
    )


def report(m: Measurement) -> tuple[str, bool]:
    floor = m.messages / GLOBAL_LIMIT_PER_SECOND
    ratio = m.seconds / floor if floor else float("inf")
    met = ratio <= TARGET_RATIO and m.rate_limited == 0 and not m.problems
    outcomes = ", ".join(f"{count} {name}" for name, count in sorted(m.outcomes.items()))
    lines = [
        f"digest fan-out: {m.channels:,} channels, one digest each, all due at "
        f"{DUE_AT:%Y-%m-%d %H:%M} UTC",
        f"  each digest           {TOPICS_PER_DIGEST} of the sample corpus's {m.topics} topics, "
        f"max_items {MAX_ITEMS}",
        f"  deliveries            {outcomes}",
        f"  digest messages       {m.messages:,} (exactly one per channel: "
        f"{'yes' if not m.problems else 'NO'})",
        f"  total time            {m.seconds:.2f} s   (one run_due() pass, until every channel "
        "has its digest)",
        f"  floor at 50 req/s     {floor:.2f} s   (messages / 50)",
        f"  ratio to the floor    {ratio:.3f}x  (target <= {TARGET_RATIO}x)",
        f"  achieved              {m.requests / m.seconds:.1f} requests/s "
        f"({m.requests:,} REST requests)",
        f"  CPU during the pass   {m.cpu_seconds:.2f} s   ({m.cpu_seconds / m.seconds:.0%} of one "
        "core, bot and sandbox together)",
        f"  429s                  {m.rate_limited}   (target 0)",
        f"  invalid requests      {m.invalid}   (401/403/429)",
        f"  peak RSS              {m.rss_mb:.0f} MB  (bot and sandbox, one process)",
        f"  setup / bot start-up  {m.setup_seconds:.1f} s / {m.startup_seconds:.1f} s (not timed)",
        f"  machine               {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        f"  target                {'met' if met else 'MISSED'}",
    ]
    lines += [f"  problem: {problem}" for problem in m.problems[:20]]
    return "\n".join(lines), met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    args = parser.parse_args()
    if args.channels < 1:
        parser.error("--channels must be at least 1")
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="fanout-") as workdir:
        measurement = asyncio.run(measure(args.channels, Path(workdir)))
    text, met = report(measurement)
    print(text)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
