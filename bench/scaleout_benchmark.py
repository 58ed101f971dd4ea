"""Scale-out fan-out benchmark: 1,000 channels due in the same minute across several processes.

    python bench/scaleout_benchmark.py --database-url postgresql://127.0.0.1:5432/test
        [--channels 1000] [--processes 4] [--servers 40]

Builds a sandboxed Discord (``discord_sandbox``: Discord's global limit of 50 requests/s per bot
token, counted across every connection and process, per-route limits, sharding as Discord does
it) with ``--servers`` servers and ``--channels`` text channels spread over them, a fresh schema
of the PostgreSQL server with the sample corpus ingested and every channel subscribed to a
one-message digest due at the same moment, about 25 s after the processes start (time enough
for them to log in, sync the commands once and take their shares of the rate budget). Then
``--processes`` real ``ainews run`` processes start, each holding one shard of as many
(SHARD_COUNT = processes), all sharing the store (DATABASE_URL).

Measured: the span from the first digest message to the last (message ids are snowflakes, in
milliseconds), against the 20 s floor that 50 requests/s sets for 1,000 messages (target: within
1.1x), 429s counted by the sandbox (global and per route; target 0), and each process's rate
(its messages over its own first-to-last span). Afterwards every channel is checked for exactly
one digest. The sandbox runs in this script's process, beside the bots' processes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

import asyncpg

from ainews.digest import find_marker
from ainews.ingest import ingest_corpus
from ainews.schedule import Schedule
from ainews.settings import SAMPLE_CORPUS
from ainews.sharding import shard_of
from ainews.store.articles import ArticleRepository
from ainews.store.catalog import NewsCatalog
from ainews.store.database import Database
from ainews.store.digests import DigestRepository
from discord_sandbox import Permission
from discord_sandbox.config import SandboxConfig
from discord_sandbox.sandbox import Sandbox

GLOBAL_LIMIT_PER_SECOND = 50
TARGET_RATIO = 1.1
START_UP_SECONDS = 25
BOT_PERMISSIONS = (
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.READ_MESSAGE_HISTORY
)
CHECKOUT = str(Path(__file__).resolve().parent.parent)


def snowflake_ms(snowflake: int) -> int:
    return snowflake >> 22


async def run(args: argparse.Namespace) -> int:
    schema = f"bench_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(args.database_url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    await admin.close()
    separator = "&" if "?" in args.database_url else "?"
    url = f"{args.database_url}{separator}search_path={schema}"
    processes: list[asyncio.subprocess.Process] = []
    try:
        async with Sandbox(SandboxConfig(identify_window=0.0)) as sandbox:
            guilds = [sandbox.create_guild(f"Server {n}") for n in range(args.servers)]
            channels = [
                sandbox.create_channel(
                    guilds[n % len(guilds)], f"news-{n:04d}", bot_permissions=BOT_PERMISSIONS
                )
                for n in range(args.channels)
            ]
            due_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=START_UP_SECONDS)
            async with await Database.open(url) as database:
                await ingest_corpus(ArticleRepository(database), SAMPLE_CORPUS)
                topics = [t.key for t in await NewsCatalog(database).topics()]
                digests = DigestRepository(database)
                for index, channel in enumerate(channels):
                    await digests.subscribe(
                        channel_id=channel.id,
                        guild_id=channel.guild.id,
                        topic_key=topics[index % len(topics)],
                        schedule=Schedule(day_time(9, 0), "UTC", frozenset(range(7))),
                        max_items=2,
                        next_run_at=due_at,
                        notify_channel_id=None,
                    )
            workdir = Path(tempfile.mkdtemp(prefix="ainews-scaleout-"))
            env = {
                **{
                    k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SHARD_"))
                },
                "PYTHONPATH": CHECKOUT,
                "DISCORD_TOKEN": sandbox.token,
                "DISCORD_API_BASE": sandbox.api_base,
                "DISCORD_GATEWAY_URL": sandbox.gateway_url,
                "NEWS_DIR": str(SAMPLE_CORPUS),
                "DATABASE_URL": url,
                "SHARD_COUNT": str(args.processes),
                "COMMAND_GUILD_IDS": ",".join(str(g.id) for g in guilds),
                "NEWS_WATCH": "false",
                "LOG_LEVEL": "WARNING",
            }
            for shard in range(args.processes):
                log = (workdir / f"process-{shard}.log").open("wb")
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "ainews",
                        "run",
                        env={**env, "SHARD_IDS": str(shard)},
                        cwd=workdir,
                        stdout=log,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                )
            limited_before = sandbox.counters.rate_limited
            deadline = time.monotonic() + START_UP_SECONDS + 120
            while time.monotonic() < deadline:
                if all(sandbox.channel_messages(c) for c in channels):
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)  # a second digest anywhere would have shown by now
            rate_limited = sandbox.counters.rate_limited - limited_before
            problems, stamps = [], []
            per_shard: dict[int, list[int]] = defaultdict(list)
            for channel in channels:
                messages = [m for m in sandbox.channel_messages(channel) if find_marker(m.content)]
                if len(messages) != 1:
                    problems.append(f"#{channel.name}: {len(messages)} digest messages")
                    continue
                stamp = snowflake_ms(messages[0].id)
                stamps.append(stamp)
                per_shard[shard_of(channel.guild.id, args.processes)].append(stamp)
            identify_waits = sandbox.counters.identify_rate_limited
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            await process.wait()
        admin = await asyncpg.connect(args.database_url)
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()

    floor = args.channels / GLOBAL_LIMIT_PER_SECOND
    span = (max(stamps) - min(stamps)) / 1000 if stamps else float("nan")
    ratio = span / floor
    print(
        f"{args.channels} channels on {args.servers} servers, {args.processes} processes "
        f"(one shard each), one PostgreSQL store, one sandbox"
    )
    print(f"  first to last digest    {span:.2f} s")
    print(f"  floor at 50 requests/s  {floor:.2f} s")
    print(f"  ratio                   {ratio:.3f}x   (target <= {TARGET_RATIO}x)")
    print(f"  429s                    {rate_limited}   (target 0; global and per route)")
    print(f"  IDENTIFYs told to wait  {identify_waits}")
    for shard, shard_stamps in sorted(per_shard.items()):
        own = (max(shard_stamps) - min(shard_stamps)) / 1000 or float("nan")
        print(
            f"  process {shard}: {len(shard_stamps)} messages in {own:.2f} s, "
            f"{len(shard_stamps) / own:.1f} messages/s"
        )
    print(f"  problems                {len(problems)} {problems[:5]}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"command: python bench/scaleout_benchmark.py {' '.join(sys.argv[1:])}")
    ok = not problems and rate_limited == 0 and ratio <= TARGET_RATIO
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server to use")
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--servers", type=int, default=40)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
