"""Scaling out: several `ainews run` processes, each holding some of the shards, on one
PostgreSQL store and one Discord (the sandbox, which shards as Discord does). Every server's
commands are answered through the process holding its shard, the commands are synced once, and
every server's digest arrives exactly once: with the shards split, with a process killed
(SIGKILL) in the middle of the fan-out and started again, and with overlapping shard ranges."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from ainews.digest import find_marker
from ainews.ingest import ingest_corpus
from ainews.schedule import Schedule
from ainews.sharding import shard_of
from ainews.store.articles import ArticleRepository
from ainews.store.database import Database
from ainews.store.digests import DigestRepository
from discord_sandbox import Channel, Guild, Member, Permission
from discord_sandbox.sandbox import Sandbox
from tests.helpers import (
    SETTING_NAMES,
    digests_posted,
    eventually,
    start_ainews_run,
    write_long_articles,
)

pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]

SERVERS = 40
SHARDS = 4
ARTICLES = 6
MESSAGES = "/channels/{channel_id}/messages"
WITHIN = 60.0


@dataclass
class Deployment:
    sandbox: Sandbox
    store: str
    env: dict[str, str]
    logs: Path
    guilds: list[Guild]
    channels: dict[int, Channel]  #: each server's digest channel, by server id
    readers: dict[int, Member]
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    runs: int = 0

    async def start(self, shard_ids: str) -> asyncio.subprocess.Process:
        """``ainews run`` holding ``shard_ids`` of the deployment's SHARD_COUNT."""
        self.runs += 1
        process = await start_ainews_run(
            {**self.env, "SHARD_IDS": shard_ids},
            self.logs / f"run-{self.runs}-shards-{shard_ids}.log",
        )
        self.processes[f"{shard_ids}#{self.runs}"] = process
        return process

    def delivered(self) -> dict[int, dict[str, list[int]]]:
        """Each server's digest deliveries in its channel: marker -> the part numbers seen."""
        found: dict[int, dict[str, list[int]]] = {}
        for guild_id, channel in self.channels.items():
            for marker, messages in digests_posted(self.sandbox, channel).items():
                parts = [mark[1] for m in messages if (mark := find_marker(m.content))]
                found.setdefault(guild_id, {})[marker] = parts
        return found

    def every_digest_arrived(self) -> bool:
        return len(self.delivered()) == SERVERS

    def assert_each_digest_exactly_once(self) -> None:
        delivered = self.delivered()
        assert sorted(delivered) == sorted(self.channels), "every server got its digest"
        for guild_id, deliveries in delivered.items():
            assert len(deliveries) == 1, f"server {guild_id}: {deliveries}"
            (parts,) = deliveries.values()
            assert parts == list(range(len(parts))), f"server {guild_id}: parts {parts}"

    def log_tail(self) -> str:
        texts = [p.read_text(errors="replace")[-2500:] for p in sorted(self.logs.glob("*.log"))]
        return "\n---\n".join(texts)

    async def stop_all(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest_asyncio.fixture
async def deployment(
    sandbox: Sandbox, tmp_path: Path, store_location: Path | str
) -> AsyncIterator[Deployment]:
    """40 servers with a digest channel each, due now; the corpus indexed into the store; the
    settings every process shares (SHARD_COUNT 4, DATABASE_URL)."""
    assert isinstance(store_location, str)
    guilds = [sandbox.create_guild(f"Server {n}") for n in range(SERVERS)]
    assert {shard_of(g.id, SHARDS) for g in guilds} == set(range(SHARDS))
    channels = {g.id: sandbox.create_channel(g, "ai-news") for g in guilds}
    readers = {g.id: sandbox.add_member(g, "reader") for g in guilds}
    for guild in guilds:
        sandbox.add_member(guild, "admin", permissions=Permission.MANAGE_GUILD)
    corpus = tmp_path / "corpus"
    write_long_articles(corpus, ARTICLES)
    async with await Database.open(store_location) as database:
        await ingest_corpus(ArticleRepository(database), corpus)
        digests = DigestRepository(database)
        for guild in guilds:
            await digests.subscribe(
                channel_id=channels[guild.id].id,
                guild_id=guild.id,
                topic_key="deep dives",
                schedule=Schedule(time(9, 0), "UTC", frozenset(range(7))),
                max_items=ARTICLES,
                next_run_at=datetime.now(UTC) - timedelta(minutes=1),
                notify_channel_id=None,
            )
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {name: value for name, value in os.environ.items() if name not in SETTING_NAMES}
    env |= {
        "DISCORD_TOKEN": sandbox.token,
        "DISCORD_API_BASE": sandbox.api_base,
        "DISCORD_GATEWAY_URL": sandbox.gateway_url,
        "NEWS_DIR": str(corpus),
        "DATABASE_URL": store_location,
        "SHARD_COUNT": str(SHARDS),
        "COMMAND_GUILD_IDS": ",".join(str(g.id) for g in guilds),
        "LOG_LEVEL": "INFO",
        "NEWS_WATCH": "false",
    }
    world = Deployment(sandbox, store_location, env, logs, guilds, channels, readers)
    try:
        yield world
    finally:
        await world.stop_all()


async def wait_for_every_digest(world: Deployment) -> None:
    try:
        await eventually(world.every_digest_arrived, within=WITHIN)
    except TimeoutError:
        pytest.fail(f"not every digest arrived\n{world.log_tail()}")


async def test_three_processes_over_four_shards_answer_and_deliver_each_server_once(
    deployment: Deployment,
) -> None:
    for shard_ids in ("0-1", "2", "3"):
        await deployment.start(shard_ids)

    await wait_for_every_digest(deployment)
    await asyncio.sleep(1)  # a second delivery would have shown by now

    deployment.assert_each_digest_exactly_once()
    sandbox = deployment.sandbox
    for guild in deployment.guilds:
        assert sandbox.sync_count(guild) == 1, "the commands are synced once per deployment"
        result = await sandbox.invoke(
            "topics", member=deployment.readers[guild.id], channel=deployment.channels[guild.id]
        )
        if result.original is not None and result.original.loading:
            await result.wait_for_deferred()
        assert result.embeds, f"/topics in server {guild.id}"
        assert result.shards == [(shard_of(guild.id, SHARDS), SHARDS)], "its shard's process"


async def test_a_process_killed_mid_fan_out_and_restarted_still_delivers_each_once(
    deployment: Deployment,
) -> None:
    victim_guild = next(g for g in deployment.guilds if shard_of(g.id, SHARDS) in (0, 1))
    # Its digest reaches its channel, but the process is killed before it hears so.
    held = deployment.sandbox.faults.hold_next(
        "POST",
        MESSAGES,
        params={"channel_id": deployment.channels[victim_guild.id].id},
        after_handling=True,
    )
    victim = await deployment.start("0-1")
    for shard_ids in ("2", "3"):
        await deployment.start(shard_ids)
    try:
        await asyncio.wait_for(held.arrived.wait(), WITHIN)
    except TimeoutError:
        pytest.fail(f"the held message never came\n{deployment.log_tail()}")
    victim.send_signal(signal.SIGKILL)
    await asyncio.wait_for(victim.wait(), 10)
    held.release()

    await deployment.start("0-1")  # its restarted self takes over what it left
    await wait_for_every_digest(deployment)
    await asyncio.sleep(1)

    deployment.assert_each_digest_exactly_once()


async def test_overlapping_shard_ranges_still_deliver_each_server_once(
    deployment: Deployment,
) -> None:
    for shard_ids in ("0-2", "1-3"):  # shards 1 and 2 held twice
        await deployment.start(shard_ids)

    await wait_for_every_digest(deployment)
    await asyncio.sleep(2)

    deployment.assert_each_digest_exactly_once()
