"""Stopping the bot: SIGTERM/SIGINT end ``ainews run`` cleanly, and no delivery starts after.

The signal tests run the real command line as a subprocess against a sandbox in the test's event
loop; the delivery tests drive ``NewsBot.shutdown`` in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ainews.app import NewsBot
from ainews.delivery import Outcome
from discord_sandbox.interactions import InteractionResult
from discord_sandbox.sandbox import Sandbox
from discord_sandbox.state import Channel, Member
from tests.helpers import CHECKOUT, NewsWorld, start_news_bot, stop_scheduler

#: How long ``ainews run`` may take to stop after a signal (its delivery grace is 10 s).
STOP_WITHIN = 15.0


async def read_lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace"))


async def news_answer(
    sandbox: Sandbox, member: Member, channel: Channel, within: float
) -> InteractionResult:
    """``/news`` as soon as the bot has connected, synced and scanned (bounded by ``within``)."""
    async with asyncio.timeout(within):
        while True:
            synced = {c["name"] for c in sandbox.registered_commands(channel.guild)}
            if sandbox.gateway.sessions and "news" in synced:
                result = await sandbox.invoke(
                    "news", member=member, channel=channel, options={"topic": "Robotics"}
                )
                if result.embeds:
                    return result
            await asyncio.sleep(0.1)


def run_env(sandbox: Sandbox, world: NewsWorld, tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": CHECKOUT,
        "HOME": str(tmp_path),
        "DISCORD_TOKEN": sandbox.token,
        "DISCORD_API_BASE": sandbox.api_base,
        "DISCORD_GATEWAY_URL": sandbox.gateway_url,
        "NEWS_DIR": str(world.settings.news_dir),
        "DATABASE_PATH": str(tmp_path / "run.sqlite3"),
        "COMMAND_GUILD_IDS": str(world.guild.id),
        "LOG_LEVEL": "INFO",
    }


@contextlib.asynccontextmanager
async def ainews_run(env: dict[str, str], cwd: Path) -> AsyncIterator[RunningBot]:
    """``python -m ainews run`` with ``env``; killed on the way out if it is still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ainews",
        "run",
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    running = RunningBot(process)
    readers = [
        asyncio.create_task(read_lines(process.stdout, running.out)),
        asyncio.create_task(read_lines(process.stderr, running.err)),
    ]
    try:
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await process.wait()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await asyncio.gather(*readers)
        for reader in readers:
            reader.cancel()


@dataclass
class RunningBot:
    process: asyncio.subprocess.Process
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    @property
    def log(self) -> str:
        return "".join(self.err)

    async def stop(self, signum: signal.Signals) -> tuple[int, float]:
        """Send ``signum``; the exit code and the seconds it took (at most STOP_WITHIN)."""
        self.process.send_signal(signum)
        started = time.monotonic()
        async with asyncio.timeout(STOP_WITHIN):
            code = await self.process.wait()
        return code, time.monotonic() - started


def assert_stopped_cleanly(bot: RunningBot, code: int, took: float, token: str) -> None:
    log = bot.log
    assert code == 0, log
    assert took < STOP_WITHIN
    assert "shutting down: no new deliveries" in log, log
    assert log.rstrip().splitlines()[-1].endswith("stopped"), log
    assert "Traceback" not in log, log
    assert token not in log + "".join(bot.out)


def integrity(database: Path) -> list[tuple[str]]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return db.execute("PRAGMA integrity_check").fetchall()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_ainews_run_stops_cleanly_on_a_signal(
    sandbox: Sandbox, world: NewsWorld, tmp_path: Path, signum: signal.Signals
) -> None:
    env = run_env(sandbox, world, tmp_path)
    async with ainews_run(env, tmp_path) as bot:
        answer = await news_answer(sandbox, world.reader, world.news, within=30)
        assert not answer.ephemeral and answer.embeds
        code, took = await bot.stop(signum)

    assert_stopped_cleanly(bot, code, took, sandbox.token)
    database = Path(env["DATABASE_PATH"])
    assert integrity(database) == [("ok",)]
    with contextlib.closing(sqlite3.connect(database)) as db:
        (recorded,) = db.execute(
            "SELECT count(*) FROM ledger WHERE channel_id = ?", (world.news.id,)
        ).fetchone()
    assert recorded == len(answer.embeds)  # what was posted before the signal is kept


@pytest.mark.slow
async def test_ainews_run_stops_cleanly_on_sigterm_while_starting(
    sandbox: Sandbox, world: NewsWorld, tmp_path: Path
) -> None:
    """SIGTERM while ``setup_hook`` waits for the command sync: a clean stop, not a crash on
    the connection the shutdown closes."""
    held = sandbox.faults.hold_next(
        "PUT", "/applications/{application_id}/guilds/{guild_id}/commands", after_handling=True
    )
    env = run_env(sandbox, world, tmp_path)
    try:
        async with ainews_run(env, tmp_path) as bot:
            async with asyncio.timeout(30):
                await held.arrived.wait()
            code, took = await bot.stop(signal.SIGTERM)
    finally:
        held.release()

    assert_stopped_cleanly(bot, code, took, sandbox.token)
    assert not sandbox.gateway.sessions  # it never connected
    assert integrity(Path(env["DATABASE_PATH"])) == [("ok",)]


async def subscribe_due_digest(sandbox: Sandbox, world: NewsWorld, bot: NewsBot) -> None:
    """Subscribe #news to a Robotics digest and make it due now, for the test's own scheduler
    pass: the scheduler loop is stopped first, so that it does not take the digest."""
    await stop_scheduler(bot)
    subscribed = await sandbox.invoke(
        "digest subscribe",
        member=world.admin,
        channel=world.news,
        options={"topic": "Robotics", "max_items": 2},
    )
    assert subscribed.ephemeral and "now gets" in (subscribed.content or "")
    await bot.digests.set_next_run(world.news.id, bot.clock() - timedelta(minutes=1))
    digest = await bot.digests.get(world.news.id)
    assert digest is not None and (await bot.deliverer.plan(digest)).parts  # something to post


async def test_after_stop_accepting_no_delivery_starts_and_shutdown_closes(
    sandbox: Sandbox, world: NewsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    async with start_news_bot(sandbox, world.settings) as bot:
        await subscribe_due_digest(sandbox, world, bot)
        digest = await bot.digests.get(world.news.id)
        assert digest is not None

        bot.deliverer.stop_accepting()

        assert await bot.deliverer.run_due() == []
        result = await bot.deliverer.deliver(digest, scheduled=False)
        assert result.outcome is Outcome.SHUTTING_DOWN
        assert sandbox.channel_messages(world.news) == []
        assert await bot.digests.pending_deliveries() == []
        # Still due: the next start delivers it.
        due = await bot.digests.due(bot.clock())
        assert [d.channel_id for d in due] == [world.news.id]

        caplog.set_level("INFO", logger="ainews.app")
        started = time.monotonic()
        async with asyncio.timeout(5):
            await bot.shutdown()
        assert bot.is_closed()
        assert time.monotonic() - started < 2  # nothing under way: no grace period spent
        assert "shutting down" in caplog.text
        assert "still under way" not in caplog.text


async def test_shutdown_lets_a_delivery_under_way_finish_first(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    async with start_news_bot(sandbox, world.settings) as bot:
        await subscribe_due_digest(sandbox, world, bot)
        held = sandbox.faults.hold_next("POST", "/channels/{channel_id}/messages")
        delivering = asyncio.create_task(bot.deliverer.run_due())
        try:
            async with asyncio.timeout(5):
                await held.arrived.wait()
            stopping = asyncio.create_task(bot.shutdown())
            await asyncio.sleep(0.3)
            assert not stopping.done() and not bot.is_closed()
            digest = await bot.digests.get(world.news.id)
            assert digest is not None
            late = await bot.deliverer.deliver(digest, scheduled=False)
            assert late.outcome is Outcome.SHUTTING_DOWN

            held.release()
            async with asyncio.timeout(5):
                (delivered,) = await delivering
                await stopping
        finally:
            held.release()
            delivering.cancel()
        assert delivered.outcome is Outcome.SENT
        assert bot.is_closed()
        assert await bot.digests.pending_deliveries() == []
        assert len(sandbox.channel_messages(world.news)) == 1


async def test_shutdown_waits_for_a_command_to_record_what_it_posted(
    sandbox: Sandbox, world: NewsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A /news answered just before the signal is in the ledger before the database closes,
    so the story is not posted again after the restart."""
    async with start_news_bot(sandbox, world.settings) as bot:
        record_posted = bot.ledger.record_posted

        async def slow_record_posted(**kwargs: Any) -> None:
            await asyncio.sleep(0.5)
            await record_posted(**kwargs)

        monkeypatch.setattr(bot.ledger, "record_posted", slow_record_posted)
        answer = await sandbox.invoke(
            "news", member=world.reader, channel=world.news, options={"topic": "Robotics"}
        )
        assert answer.responded and answer.embeds

        async with asyncio.timeout(5):
            await bot.shutdown()
        assert bot.is_closed()
        assert await bot.ledger.posted_count(world.news.id) == len(answer.embeds)
