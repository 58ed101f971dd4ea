"""/news latency benchmark: the real bot answering members in a sandboxed Discord, large corpus.

    python bench/news_benchmark.py [--count 100000] [--calls 300] [--workdir bench/out]
    python bench/news_benchmark.py --database-url postgresql://127.0.0.1:5432/test [...]

Setup (not measured):

- the corpus ``WORKDIR/corpus-COUNT`` (the one ``bench/ingest_benchmark.py`` leaves, or generated
  here with ``bench/generate_corpus.py``, seed 42) is reused when it holds COUNT article files;
- it is indexed into ``WORKDIR/news-COUNT.sqlite3`` with ``ingest_corpus`` (cold the first time,
  a warm no-op afterwards); the ledger and bot state of an earlier run are cleared, so every run
  starts from the same database;
- the database file is read once, so that the calls start from a warm page cache (as a running
  bot's would), not from whatever other processes left in it;
- the Discord sandbox (``discord_sandbox``, Discord's real limits) and the production ``NewsBot``
  are started as the tests start them (``tests/cogs/conftest.py``) on that corpus and database: the
  bot syncs its commands and rescans NEWS_DIR, which is a warm scan (nothing to parse). Its
  periodic rescan is set to an hour, so the one at start is the only one, and it has finished
  (``corpus_ready`` and ``last_rescan``) before any call; the benchmark checks that no other rescan
  happened by the end.

Measured: a warm-up of ``--warmup`` calls in channels of their own (not counted), then ``--calls``
``/news`` invocations by one member over ``--channels`` channels, ``/latest`` and ``/search``.
Topics are drawn (seeded, so every run makes the same calls) from the corpus's own topics with
weight ``article_count ** 0.5``: the busiest topics are asked most, the rare ones still make up a
good part of the calls (on the generated corpus, a third go to topics of under 2,000 articles,
i.e. under 2%); ``count`` is 1..10, each equally often; the topic is typed in the display case or
in lower case. Every answer is public, so each
one is recorded in the ledger and later calls in the same channel must skip the stories posted
there. ``/search`` uses one to three words from titles of random articles.

Calls are made one at a time: each is awaited until the bot has answered *and* recorded what it
posted (the channel's posting lock is free again), then a short pause follows. That keeps the
bot under 50 requests/s even though interaction callbacks do not count against the global limit.

The figure is the sandbox's ``InteractionResult.response_time``: seconds from dispatching
INTERACTION_CREATE to receiving the interaction callback. The sandbox runs in the bot's process
and event loop (as in the tests), so its own work on each call (encoding the gateway event,
serving and validating the callback) is included: the figures are, if anything, pessimistic.
Percentiles are nearest-rank. ``--profile FILE`` writes a cProfile of the measured /news calls.

With ``--database-url URL`` (a PostgreSQL server's database), the same calls are measured on
SQLite and then on PostgreSQL in one run, and the tables are printed side by side (an engine
column). The PostgreSQL store is a new, empty schema (``bench_<random>``, made with asyncpg on
that database, used through ``URL?search_path=...`` and dropped with ``DROP SCHEMA ... CASCADE``
at the end), into which the corpus is indexed cold (not measured); its server keeps its own cache,
so no file is read beforehand. Both engines get the same workload: the /search titles are drawn
from the SQLite database of the same corpus. Each engine's bot runs in a process of its own, so
that its peak RSS (``VmHWM``: the bot, discord.py and the sandbox, which runs in the bot's
process) is its own; the PostgreSQL server's memory is in the server's processes and is not
counted. Targets: /news p99 <= 50 ms on SQLite, <= 20 ms on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import math
import os
import pickle
import platform
import pstats
import random
import re
import secrets
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_corpus import generate_corpus

from ainews.app import NewsBot
from ainews.demo import sandbox_settings
from ainews.ingest import CorpusReport, ingest_corpus
from ainews.store.articles import ArticleRepository
from ainews.store.catalog import NewsCatalog, StoredArticle, TopicStats
from ainews.store.database import Database
from discord_sandbox import CallbackType, InteractionResult, SandboxConfig
from discord_sandbox.run_client import run_client
from discord_sandbox.sandbox import Sandbox
from discord_sandbox.state import Channel, Member

CORPUS_SEED = 42
WORKLOAD_SEED = 2024
TARGET_P99_MS = 50.0
TARGET_P99_MS_POSTGRES = 20.0
MIN_CALLS = 200
#: A "rare" topic, in the report: one of fewer than this share of the articles.
RARE_SHARE = 0.02
#: The bot's periodic rescan interval during the benchmark: longer than any run.
RESCAN_SECONDS = 3600
#: Title words too common to be a search anyone types.
STOP_WORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "by", "can", "for", "from", "in", "inside"),
        *("into", "is", "it", "its", "new", "of", "on", "or", "the", "this", "to", "with"),
        *("why", "what", "really", "says", "thinks"),
    }
)
_WORD = re.compile(r"[^\W\d_]{3,}")


@dataclass(frozen=True)
class Call:
    command: str
    channel: Channel
    options: dict[str, str | int]


@dataclass
class Outcomes:
    """What one command's measured calls got."""

    command: str
    calls: int = 0
    times: list[float] = field(default_factory=list)
    cards: int = 0
    caught_up: int = 0
    deferred: int = 0
    other: list[str] = field(default_factory=list)
    #: (seconds, seconds in the catalog query, options) of every answered call.
    details: list[tuple[float, float, dict[str, str | int]]] = field(default_factory=list)

    def add(self, result: InteractionResult, call: Call, query_seconds: float) -> None:
        self.calls += 1
        if result.response_time is None:
            self.other.append(f"no response; rejections {result.rejections}")
            return
        self.times.append(result.response_time)
        self.details.append((result.response_time, query_seconds, call.options))
        content = result.content or ""
        if result.response_type == CallbackType.DEFERRED_CHANNEL_MESSAGE:
            self.deferred += 1
        elif result.embeds and not result.ephemeral:
            self.cards += 1
        elif result.ephemeral and ("caught up" in content or "There are no articles" in content):
            self.caught_up += 1
        else:
            self.other.append(content[:120] or repr(result.response_type))

    def row(self) -> str:
        ms = sorted(t * 1000 for t in self.times)
        figures = [percentile(ms, p) for p in (50, 90, 99)] + [ms[-1], statistics.fmean(ms)]
        return (
            f"{self.command:<8} {self.calls:>5} {self.cards:>6} {self.caught_up:>9}"
            f" {self.deferred + len(self.other):>6}  "
            + " ".join(f"{value:>6.1f}" for value in figures)
        )


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# Setup ---------------------------------------------------------------------------------------


def prepare_corpus(workdir: Path, count: int) -> tuple[Path, str]:
    """``WORKDIR/corpus-COUNT`` holding ``count`` articles, generated unless already there."""
    corpus = workdir / f"corpus-{count}"
    if corpus.is_dir():
        found = sum(1 for _ in corpus.rglob("*.md"))
        if found == count:
            return corpus, "reused"
        log(f"{corpus} holds {found} articles, not {count}: generating it again")
        shutil.rmtree(corpus)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generate_corpus(corpus, count, seed=CORPUS_SEED)
    return corpus, f"generated in {time.perf_counter() - started:.1f} s"


async def prepare_database(
    corpus: Path, database_path: Path | str, *, exists: bool
) -> tuple[CorpusReport, float]:
    """Index ``corpus`` into ``database_path`` (incrementally) and forget earlier runs' posts;
    ``database_path`` is a SQLite file or a PostgreSQL URL.

    A SQLite database whose schema differs from a new one's (made by an older checkout, or one
    that skipped a migration numbered below its version) is made again from scratch."""
    if (
        exists
        and isinstance(database_path, Path)
        and await schema(database_path) != await schema(":memory:")
    ):
        log(f"{database_path} has another schema than this checkout makes: indexing again")
        for stale in database_path.parent.glob(f"{database_path.name}*"):
            stale.unlink()
    async with await Database.open(database_path) as database:
        started = time.perf_counter()
        report = await ingest_corpus(ArticleRepository(database), corpus)
        seconds = time.perf_counter() - started
        async with database.transaction() as db:
            await db.execute("DELETE FROM ledger")
            await db.execute("DELETE FROM bot_state")
    return report, seconds


async def schema(path: Path | str) -> list[tuple[str, str]]:
    """A SQLite database's tables and indexes, as SQL."""
    async with await Database.open(path) as database:
        rows = await database.fetch(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        )
    return [(str(name), str(sql)) for name, sql in rows]


def warm_page_cache(database_path: Path) -> None:
    """Read the database file once: a running bot's would be in the page cache, not on disk."""
    with database_path.open("rb") as file:
        while file.read(1 << 20):
            pass


def article_titles(database_path: Path, how_many: int, rng: random.Random) -> list[str]:
    connection = sqlite3.connect(database_path)
    try:
        (top,) = connection.execute("SELECT max(seq) FROM articles").fetchone()
        titles: list[str] = []
        while len(titles) < how_many:
            row = connection.execute(
                "SELECT title FROM articles WHERE seq = ? AND active", (rng.randint(1, top),)
            ).fetchone()
            if row:
                titles.append(str(row[0]))
        return titles
    finally:
        connection.close()


# Workload ------------------------------------------------------------------------------------


def news_calls(
    topics: Sequence[TopicStats], channels: Sequence[Channel], how_many: int, rng: random.Random
) -> list[Call]:
    weights = [topic.article_count**0.5 for topic in topics]
    counts = [1 + i % 10 for i in range(how_many)]  # every count 1..10 equally often
    rng.shuffle(counts)
    calls = []
    for count in counts:
        (topic,) = rng.choices(topics, weights)
        typed = topic.name if rng.random() < 0.7 else topic.name.lower()
        calls.append(Call("news", rng.choice(channels), {"topic": typed, "count": count}))
    return calls


def latest_calls(channels: Sequence[Channel], how_many: int, rng: random.Random) -> list[Call]:
    return [
        Call("latest", rng.choice(channels), {"count": 1 + i % 10})
        for i in rng.sample(range(how_many), how_many)
    ]


def search_calls(
    titles: Sequence[str], channels: Sequence[Channel], rng: random.Random
) -> list[Call]:
    calls = []
    for title in titles:
        words = [w for w in _WORD.findall(title) if w.casefold() not in STOP_WORDS]
        if not words:
            words = title.split()[:1]
        start = rng.randrange(len(words))
        query = " ".join(words[start : start + rng.choice((1, 1, 2, 2, 3))])
        calls.append(Call("search", rng.choice(channels), {"query": query, "count": 5}))
    return calls


# Running -------------------------------------------------------------------------------------


class QueryTimer:
    """Times the bot's catalog queries (``newest``, ``search``), wrapped on its instance."""

    def __init__(self, catalog: NewsCatalog) -> None:
        self.seconds = 0.0
        for name in ("newest", "search"):
            setattr(catalog, name, self._timed(getattr(catalog, name)))

    def _timed(
        self, method: Callable[..., Awaitable[list[StoredArticle]]]
    ) -> Callable[..., Awaitable[list[StoredArticle]]]:
        async def timed(*args: Any, **kwargs: Any) -> list[StoredArticle]:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


async def perform(
    sandbox: Sandbox, bot: NewsBot, member: Member, call: Call, pause: float
) -> InteractionResult:
    """Make ``call`` and wait until the bot is done with it (the answer recorded)."""
    result = await sandbox.invoke(
        call.command, member=member, channel=call.channel, options=call.options
    )
    # Until the bot has recorded what it posted: the next call must not wait for that.
    async with bot.posting_locks.for_channel(call.channel.id):
        pass
    await asyncio.sleep(pause)
    return result


@dataclass
class Run:
    outcomes: dict[str, Outcomes]
    startup: str
    scan: CorpusReport
    ledger_rows: int
    duplicates: int
    rescans: int
    topics: list[TopicStats]
    warm_up: int
    rare_calls: int
    load: tuple[str, str]
    #: The process's peak RSS in MB (``VmHWM``), when it is asked for and Linux tells it.
    peak_rss_mb: float | None = None


async def run_bot(
    args: argparse.Namespace,
    corpus: Path,
    database_path: Path,
    database_url: str | None = None,
) -> Run:
    """The measured calls, on the SQLite file ``database_path``, or on ``database_url``'s
    PostgreSQL store when given (/search titles still come from ``database_path``'s articles,
    so that both engines get the same calls)."""
    rng = random.Random(WORKLOAD_SEED)
    async with Sandbox(SandboxConfig()) as sandbox:
        guild = sandbox.create_guild("AI News")
        channels = [sandbox.create_channel(guild, f"news-{n}") for n in range(args.channels)]
        warm_channels = [sandbox.create_channel(guild, f"warm-up-{n}") for n in range(3)]
        member = sandbox.add_member(guild, "reader")
        settings = sandbox_settings(
            sandbox,
            guild,
            news_dir=corpus,
            database_path=database_path,
            news_rescan_seconds=RESCAN_SECONDS,
            **({"database_url": database_url} if database_url else {}),
        )
        async with await Database.open(
            settings.database_location, pool_size=settings.database_pool_size
        ) as database:
            bot = NewsBot(settings=settings, database=database, guild_ready_timeout=0.1)
            started = time.perf_counter()
            async with run_client(sandbox, bot, ready_timeout=60):
                ready = time.perf_counter() - started
                await bot.corpus_ready.wait()
                scan = bot.last_rescan  # set with corpus_ready unless the scan failed
                if scan is None:
                    raise RuntimeError("the bot's start-up scan of NEWS_DIR failed (see the log)")
                scanned = time.perf_counter() - started
                if not sandbox.registered_commands(guild):
                    raise RuntimeError("the bot did not sync its commands")
                startup = (
                    f"bot ready (login, command sync) in {ready:.2f} s; its start-up scan of"
                    f" NEWS_DIR: {scan.unchanged:,} unchanged, {scan.ingested} ingested in"
                    f" {scan.seconds:.2f} s (done {scanned:.2f} s after start; not measured)"
                )
                log(startup)
                topics = await bot.catalog.topics()
                titles = article_titles(database_path, args.search_calls + 10, rng)
                warm = (
                    news_calls(topics, warm_channels, args.warmup, rng)
                    + latest_calls(warm_channels, 5, rng)
                    + search_calls(titles[args.search_calls :], warm_channels, rng)
                )
                plan = {
                    "/news": news_calls(topics, channels, args.calls, rng),
                    "/latest": latest_calls(channels, args.latest_calls, rng),
                    "/search": search_calls(titles[: args.search_calls], channels, rng),
                }
                sizes = {topic.key: topic.article_count for topic in topics}
                rare_calls = sum(
                    1
                    for call in plan["/news"]
                    if sizes[str(call.options["topic"]).casefold()] < RARE_SHARE * args.count
                )
                timer = QueryTimer(bot.catalog)
                for call in warm:
                    await perform(sandbox, bot, member, call, args.pause)
                log(f"warm-up: {len(warm)} calls, not counted")
                outcomes = {name: Outcomes(name) for name in plan}
                load_before = machine_load()
                profile = cProfile.Profile() if args.profile else None
                duplicates = 0
                for name, calls in plan.items():
                    if name == "/search":  # it shows posted stories again, by design
                        duplicates = await stories_posted_twice(database, channels)
                    if profile and name == "/news":
                        profile.enable()
                    for call in calls:
                        timer.take()
                        result = await perform(sandbox, bot, member, call, args.pause)
                        outcomes[name].add(result, call, timer.take())
                    if profile and name == "/news":
                        profile.disable()
                    log(f"{name}: {len(calls)} calls done")
                if profile:
                    profile.dump_stats(args.profile)
                    pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(25)
                load = (load_before, machine_load())
                rescans = 0 if bot.last_rescan is scan else 1
                ledger_rows = int(await database.fetchval("SELECT count(*) FROM ledger"))
    return Run(
        outcomes,
        startup,
        scan,
        ledger_rows,
        duplicates,
        rescans,
        topics,
        len(warm),
        rare_calls,
        load,
    )


async def stories_posted_twice(database: Database, channels: Sequence[Channel]) -> int:
    """Stories the ledger shows in more than one message of one of ``channels`` (the measured
    ones: the warm-up's /search calls show posted stories again, by design)."""
    marks = ",".join("?" * len(channels))
    found = await database.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM ledger"
        f" WHERE channel_id IN ({marks}) GROUP BY channel_id, story_id"
        " HAVING count(DISTINCT message_id) > 1) AS twice",
        [channel.id for channel in channels],
    )
    return int(found or 0)


def machine_load() -> str:
    """The 1-minute load average, and the share of the last 10 s some task waited for I/O (Linux
    pressure stall information) where the system reports it: others' work skews the figures."""
    load = f"load {os.getloadavg()[0]:.2f}"
    try:
        fields = Path("/proc/pressure/io").read_text().split()
    except OSError:
        return load
    return f"{load}, I/O wait {fields[1].removeprefix('avg10=')}%"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="articles in the corpus")
    parser.add_argument("--calls", type=int, default=300, help=f"/news calls (>= {MIN_CALLS})")
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    parser.add_argument(
        "--database", type=Path, help="the database to use (default WORKDIR/news-COUNT.sqlite3)"
    )
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=30, help="/news warm-up calls")
    parser.add_argument("--search-calls", type=int, default=100)
    parser.add_argument("--latest-calls", type=int, default=50)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between calls")
    parser.add_argument("--show-slowest", type=int, default=0, help="log the N slowest calls")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the /news calls here")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="also measure on this PostgreSQL database (in a new schema, dropped afterwards),"
        " beside SQLite",
    )
    # One engine's bot run in a process of its own (--database-url): the PostgreSQL store's URL
    # (or "sqlite"), and the file its Run is pickled to.
    parser.add_argument("--bot-run", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.calls < MIN_CALLS:
        parser.error(f"--calls must be at least {MIN_CALLS}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    database_path = args.database or args.workdir / f"news-{args.count}.sqlite3"
    if args.bot_run:
        url = None if args.bot_run == "sqlite" else args.bot_run
        run = asyncio.run(run_bot(args, args.workdir / f"corpus-{args.count}", database_path, url))
        run.peak_rss_mb = peak_rss_mb()
        args.result.write_bytes(pickle.dumps(run))
        return 0

    corpus, corpus_state = prepare_corpus(args.workdir, args.count)
    log(f"corpus {corpus}: {corpus_state}")
    report, seconds = asyncio.run(
        prepare_database(corpus, database_path, exists=database_path.exists())
    )
    indexed = (
        f"{report.ingested:,} ingested, {report.unchanged:,} unchanged, "
        f"{len(report.rejected)} rejected in {seconds:.1f} s"
    )
    log(f"database {database_path}: {indexed}")
    warm_page_cache(database_path)
    if args.database_url:
        return compare_engines(args, corpus_state, database_path, indexed)
    run = asyncio.run(run_bot(args, corpus, database_path))

    news = run.outcomes["/news"]
    p99 = percentile(sorted(news.times), 99) * 1000 if news.times else math.inf
    sizes = [topic.article_count for topic in run.topics]
    print(
        f"\n/news benchmark: {args.count:,} articles, {len(sizes)} topics of {min(sizes):,} to"
        f" {max(sizes):,} articles, {args.channels} channels; {run.rare_calls} of the /news calls"
        f" on topics of under {RARE_SHARE:.0%} of the articles; warm-up of {run.warm_up} calls"
        " not counted"
    )
    print(
        f"{'command':<8} {'calls':>5} {'cards':>6} {'caught-up':>9} {'other':>6}  "
        f"{'p50':>6} {'p90':>6} {'p99':>6} {'max':>6} {'mean':>6}  (ms)"
    )
    for outcome in run.outcomes.values():
        print(outcome.row())
    verdict = "met" if p99 <= TARGET_P99_MS else "MISSED"
    print(f"target: /news p99 <= {TARGET_P99_MS:.0f} ms: {verdict} ({p99:.1f} ms)")
    print(
        f"ledger: {run.ledger_rows:,} rows at the end; stories posted twice in a channel:"
        f" {run.duplicates} (after /news and /latest); rescans during the calls: {run.rescans}"
    )
    print(f"corpus: {corpus_state}; index: {indexed}")
    print(run.startup)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()},"
        f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version};"
        f" {run.load[0]} before the calls, {run.load[1]} after"
    )
    print(f"command: python {shlex.join(sys.argv)}")
    for outcome in run.outcomes.values():
        for text in outcome.other[:5]:
            print(f"  {outcome.command} other answer: {text}")
    for outcome in run.outcomes.values():
        slowest = sorted(outcome.details, key=lambda d: d[0], reverse=True)[: args.show_slowest]
        for seconds, query, options in slowest:
            log(
                f"slow {outcome.command}: {seconds * 1000:.1f} ms (query {query * 1000:.1f} ms) "
                f"{options}"
            )
    failed = run.duplicates or run.rescans or any(o.other for o in run.outcomes.values())
    return 1 if failed or p99 > TARGET_P99_MS else 0


def compare_engines(
    args: argparse.Namespace, corpus_state: str, database_path: Path, sqlite_indexed: str
) -> int:
    """The same calls on SQLite and on a new PostgreSQL schema, each engine's bot in a process of
    its own; one table."""
    corpus = args.workdir / f"corpus-{args.count}"
    schema = f"bench_{secrets.token_hex(6)}"
    version = asyncio.run(postgres(args.database_url, f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in args.database_url else "?"
    store_url = f"{args.database_url}{separator}search_path={schema}"
    runs: dict[str, Run] = {}
    try:
        report, seconds = asyncio.run(prepare_database(corpus, store_url, exists=False))
        indexed = {
            "sqlite": sqlite_indexed,
            "postgresql": f"{report.ingested:,} ingested, {report.unchanged:,} unchanged, "
            f"{len(report.rejected)} rejected in {seconds:.1f} s (cold, into schema {schema})",
        }
        log(f"PostgreSQL schema {schema}: {indexed['postgresql']}")
        for engine, location in (("sqlite", "sqlite"), ("postgresql", store_url)):
            runs[engine] = run_in_own_process(args, engine, location)
    finally:
        asyncio.run(postgres(args.database_url, f"DROP SCHEMA {schema} CASCADE"))

    first = runs["sqlite"]
    sizes = [topic.article_count for topic in first.topics]
    print(
        f"\n/news benchmark: {args.count:,} articles, {len(sizes)} topics of {min(sizes):,} to"
        f" {max(sizes):,} articles, {args.channels} channels; {first.rare_calls} of the /news"
        f" calls on topics of under {RARE_SHARE:.0%} of the articles; warm-up of"
        f" {first.warm_up} calls not counted; the same calls on each engine"
    )
    print(
        f"{'engine':<10} {'command':<8} {'calls':>5} {'cards':>6} {'caught-up':>9} {'other':>6}  "
        f"{'p50':>6} {'p90':>6} {'p99':>6} {'max':>6} {'mean':>6}  (ms)"
    )
    for command in first.outcomes:
        for engine, run in runs.items():
            print(f"{engine:<10} {run.outcomes[command].row()}")
    failed = False
    verdicts = []
    for engine, target in (("sqlite", TARGET_P99_MS), ("postgresql", TARGET_P99_MS_POSTGRES)):
        run = runs[engine]
        news = run.outcomes["/news"]
        p99 = percentile(sorted(news.times), 99) * 1000 if news.times else math.inf
        verdict = "met" if p99 <= target else "MISSED"
        verdicts.append(f"{engine} <= {target:.0f} ms: {verdict} ({p99:.1f} ms)")
        failed = failed or p99 > target
        failed = failed or bool(
            run.duplicates or run.rescans or any(o.other for o in run.outcomes.values())
        )
    print(f"target: /news p99 {'; '.join(verdicts)}")
    print(
        "peak RSS of the bot's process (the bot, discord.py and the sandbox; VmHWM): "
        + ", ".join(
            f"{engine} {run.peak_rss_mb:.0f} MB" if run.peak_rss_mb is not None else f"{engine} ?"
            for engine, run in runs.items()
        )
        + " (the PostgreSQL server's own memory is not counted)"
    )
    for engine, run in runs.items():
        print(
            f"{engine}: ledger {run.ledger_rows:,} rows at the end; stories posted twice in a"
            f" channel: {run.duplicates} (after /news and /latest); rescans during the calls:"
            f" {run.rescans}; index: {indexed[engine]}"
        )
        print(f"{engine}: {run.startup}")
        print(f"{engine}: {run.load[0]} before the calls, {run.load[1]} after")
    print(f"corpus: {corpus_state}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()},"
        f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version},"
        f" PostgreSQL {version} (same machine)"
    )
    print(f"command: python {shlex.join(sys.argv)}")
    for engine, run in runs.items():
        for outcome in run.outcomes.values():
            for text in outcome.other[:5]:
                print(f"  {engine} {outcome.command} other answer: {text}")
        for outcome in run.outcomes.values():
            slowest = sorted(outcome.details, key=lambda d: d[0], reverse=True)
            for seconds, query, options in slowest[: args.show_slowest]:
                log(
                    f"slow {engine} {outcome.command}: {seconds * 1000:.1f} ms"
                    f" (query {query * 1000:.1f} ms) {options}"
                )
    return 1 if failed else 0


def run_in_own_process(args: argparse.Namespace, engine: str, location: str) -> Run:
    """One engine's measured calls (``run_bot``) in a new process: its peak RSS is its own."""
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "run.pickle"
        command = [
            sys.executable,
            __file__,
            *("--count", str(args.count), "--calls", str(args.calls)),
            *("--workdir", str(args.workdir), "--channels", str(args.channels)),
            *("--warmup", str(args.warmup), "--search-calls", str(args.search_calls)),
            *("--latest-calls", str(args.latest_calls), "--pause", str(args.pause)),
            *(("--database", str(args.database)) if args.database else ()),
            *(("--profile", f"{args.profile}.{engine}") if args.profile else ()),
            *("--bot-run", location, "--result", str(result)),
        ]
        log(f"{engine}: the bot's calls, in a process of its own")
        subprocess.run(command, check=True)
        run: Run = pickle.loads(result.read_bytes())  # our own child's
    return run


async def postgres(url: str, sql: str) -> str:
    """Run ``sql`` on ``url``'s database; returns the server's version."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


def peak_rss_mb() -> float | None:
    """This process's peak resident set (``VmHWM``), or None without Linux's /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


if __name__ == "__main__":
    sys.exit(main())
