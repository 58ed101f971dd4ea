"""The bot processes sharing a store: each registers at start, beats every few seconds and
leaves when it stops. A process whose heartbeat is older than :data:`LIVE_WITHIN` (killed, its
machine gone) no longer counts, and its row is dropped by the next process that looks; one of
the same host whose process id no longer runs is dropped at once.

A process claims the pending deliveries it sends (``deliveries.claimed_by``): the others take
one over only once its claimer is no longer here (:meth:`DigestRepository.claim_delivery`)."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from ainews.store.database import Database, from_timestamp, to_timestamp

#: How often a process beats, and how long one stays live without a beat.
HEARTBEAT_EVERY = timedelta(seconds=5)
LIVE_WITHIN = timedelta(seconds=15)


@dataclass(frozen=True, slots=True)
class BotProcess:
    id: str
    host: str
    pid: int
    shards: str
    started_at: datetime
    heartbeat_at: datetime


class ProcessRegistry:
    def __init__(self, database: Database, shards: str) -> None:
        self.database = database
        #: This process: a new id at each start, its host and pid, and the shards it holds.
        self.id = secrets.token_hex(8)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.shards = shards

    async def beat(self, now: datetime) -> list[BotProcess]:
        """Register or refresh this process; returns the live processes (this one included),
        oldest first, and forgets the dead."""
        when = to_timestamp(now)
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO bot_processes (id, host, pid, shards, started_at, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE"
                " SET heartbeat_at = excluded.heartbeat_at",
                (self.id, self.host, self.pid, self.shards, when, when),
            )
            await db.execute(
                "DELETE FROM bot_processes WHERE heartbeat_at < ?",
                (to_timestamp(now - LIVE_WITHIN),),
            )
            # Processes of this host that died (killed, crashed) are gone at once: a restarted
            # bot takes over its deliveries without waiting for their heartbeats to age.
            neighbours = await db.fetch(
                "SELECT id, pid FROM bot_processes WHERE host = ? AND id <> ?",
                (self.host, self.id),
            )
            for process_id, pid in neighbours:
                if not _running(pid):
                    await db.execute("DELETE FROM bot_processes WHERE id = ?", (process_id,))
        return await self.live(now)

    async def live(self, now: datetime) -> list[BotProcess]:
        rows = await self.database.fetch(
            "SELECT id, host, pid, shards, started_at, heartbeat_at FROM bot_processes"
            " WHERE heartbeat_at >= ? ORDER BY started_at, id",
            (to_timestamp(now - LIVE_WITHIN),),
        )
        return [
            BotProcess(id, host, pid, shards, from_timestamp(started), from_timestamp(beat))
            for id, host, pid, shards, started, beat in rows
        ]

    async def leave(self) -> None:
        async with self.database.transaction() as db:
            await db.execute("DELETE FROM bot_processes WHERE id = ?", (self.id,))


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (it may be another program, reusing the id:
    then its heartbeat, no longer beating, tells in LIVE_WITHIN)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    return True
