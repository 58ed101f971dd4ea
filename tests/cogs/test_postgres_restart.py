"""The PostgreSQL server restarts while the bot runs: in the middle of a digest fan-out, a message
sent but not yet recorded. Commands answer "try again" meanwhile, the pool reconnects, and every
digest arrives exactly once, none lost (the one cut short is resolved from the channel)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from ainews.app import NewsBot
from ainews.digest import find_marker
from ainews.store.database import StoreUnavailable
from ainews.tree import STORE_UNAVAILABLE_REPLY
from discord_sandbox.sandbox import Sandbox
from tests.helpers import NewsWorld, SettableClock, digest_command, digests_posted, eventually

pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]

MESSAGES = "/channels/{channel_id}/messages"
CLUSTERS = Path("/etc/postgresql")


def postgres_server(action: str) -> None:
    """Stop or start this machine's PostgreSQL cluster (the test server)."""
    versions = sorted(CLUSTERS.iterdir()) if CLUSTERS.is_dir() else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        pytest.fail("pg_ctlcluster is needed to restart the test server")
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main", action]
    if action == "stop":
        command += ["--", "-m", "fast"]
    subprocess.run(command, check=True, timeout=60, capture_output=True)


async def test_a_restart_mid_fan_out_doubles_and_loses_no_digest(
    sandbox: Sandbox, world: NewsWorld, clock: SettableClock, clocked_bot: NewsBot
) -> None:
    channels = [sandbox.create_channel(world.guild, f"digest-{n}") for n in range(8)]
    for channel in channels:
        await digest_command(
            sandbox, world, "subscribe", channel=channel, topic="Robotics", time="08:30"
        )
    clock.advance(hours=1)  # every digest is due
    # The fourth digest message reaches the channel, but the bot hears so only after the stop.
    held = sandbox.faults.hold_next("POST", MESSAGES, skip=3, after_handling=True)
    fan_out = asyncio.create_task(clocked_bot.deliverer.run_due())
    await asyncio.wait_for(held.arrived.wait(), 30)
    await asyncio.to_thread(postgres_server, "stop")
    try:
        held.release()
        await asyncio.wait_for(fan_out, 60)  # what could not be recorded stays pending

        news = await sandbox.invoke(
            "news", member=world.reader, channel=world.news, options={"topic": "Robotics"}
        )
        if news.original is not None and news.original.loading:
            await news.wait_for_deferred()
        reply = news.followups[-1] if news.followups else news.original
        assert reply is not None and reply.content == STORE_UNAVAILABLE_REPLY
        assert reply.flags & 64, "ephemeral"
    finally:
        await asyncio.to_thread(postgres_server, "start")

    async def every_digest_delivered() -> bool:
        try:
            await clocked_bot.deliverer.run_due()
        except StoreUnavailable:  # the server still starting up
            return False
        return all(digests_posted(sandbox, channel) for channel in channels)

    await eventually(every_digest_delivered, within=60)
    for channel in channels:
        (parts,) = digests_posted(sandbox, channel).values()  # one delivery each
        numbers = [mark[1] for message in parts if (mark := find_marker(message.content))]
        assert numbers == list(range(len(parts))), f"each part once in #{channel.name}"
    ledger = await clocked_bot.database.fetch(
        "SELECT channel_id, message_id, count(*) FROM ledger GROUP BY channel_id, message_id"
    )
    assert {channel_id for channel_id, _, _ in ledger} == {channel.id for channel in channels}

    again = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": "Robotics"}
    )
    if again.original is not None and again.original.loading:
        await again.wait_for_deferred()
    assert not again.ephemeral and again.embeds, "commands work again once the server is back"
