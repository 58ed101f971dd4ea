"""Gateway v10 over a websocket: HELLO, IDENTIFY/READY, heartbeats, RESUME and events.

Every dispatch is numbered and kept per session, so a client that drops and RESUMEs gets what it
missed replayed before RESUMED. Frames are plain JSON text, which discord.py accepts whatever
``compress`` it asked for (zlib-stream or zstd-stream): it only decompresses binary frames.

Sharding, as on Discord: an IDENTIFY may carry ``shard: [shard_id, shard_count]`` (without it
the session is shard ``[0, 1]`` and holds everything). A guild belongs to shard
``(guild_id >> 22) % shard_count``; a session's READY lists only its shard's guilds (as
unavailable stubs), then their GUILD_CREATEs, and every later event of a guild (messages,
channels, threads, roles, members, INTERACTION_CREATE...) goes only to the sessions holding
that guild's shard; events of no guild (DMs) go to shard 0. Sessions of different shard counts
may live side by side (Discord allows it while a bot reshards), and two sessions of the same
``[shard_id, shard_count]`` both get the events. A shard id outside ``0..shard_count-1`` (or
anything not two integers) is closed with 4010; a shard that would hold more than
``SandboxConfig.max_guilds_per_shard`` guilds, with 4011 (checked at IDENTIFY: a guild joining
later does not close a live session, as on Discord until it reconnects).

IDENTIFYs are limited as on Discord: one per ``identify_window`` (5 s) in each bucket
``shard_id % max_concurrency``, an extra one answered with op 9 (not resumable: the client waits
and identifies again, discord.py after 5 s); and ``session_start_total`` sessions per 24 hours,
counted by ``GET /gateway/bot``'s ``session_start_limit``. Past that Discord resets the bot's
token; the sandbox closes the identifying connection with 4004 (what the reset token would get)
and leaves live sessions alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from discord_sandbox.config import PRIVILEGED_INTENTS, SESSION_START_RESET, SandboxConfig
from discord_sandbox.counters import Counters
from discord_sandbox.state import Channel, Guild, Json, Message, World

MAX_REPLAY = 1000
"""Dispatches kept per session for RESUME; an older sequence gets an invalid session."""


class Op(enum.IntEnum):
    """Gateway opcodes."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intent(enum.IntFlag):
    """The intents that gate events the sandbox sends."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MESSAGES = 1 << 9


class CloseCode(enum.IntEnum):
    """Gateway close codes the sandbox uses."""

    UNKNOWN_OPCODE = 4001
    DECODE_ERROR = 4002
    NOT_AUTHENTICATED = 4003
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005
    INVALID_SHARD = 4010
    SHARDING_REQUIRED = 4011
    DISALLOWED_INTENTS = 4014


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard holding a guild: ``(guild_id >> 22) % shard_count``, as on Discord."""
    return (guild_id >> 22) % shard_count


def parse_shard(value: object) -> tuple[int, int] | None:
    """An IDENTIFY's ``shard``: ``[shard_id, shard_count]``, two integers with
    ``0 <= shard_id < shard_count``; None if it is anything else."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    if not all(isinstance(part, int) and not isinstance(part, bool) for part in value):
        return None
    shard_id, shard_count = value
    if shard_count < 1 or not 0 <= shard_id < shard_count:
        return None
    return shard_id, shard_count


@dataclass(frozen=True)
class SessionInfo:
    """A session as tests see it (``Sandbox.sessions()``): its shard, whether a connection
    reads it now, and the guilds its shard holds."""

    id: str
    shard_id: int
    shard_count: int
    connected: bool
    guild_ids: frozenset[int]

    @property
    def shard(self) -> tuple[int, int]:
        """``(shard_id, shard_count)``."""
        return self.shard_id, self.shard_count


@dataclass(eq=False)
class Session:
    """One identified session: its shard, its numbered dispatches and the connection reading
    them. ``shard`` is what the IDENTIFY sent (None: it sent none, the session is ``[0, 1]``)."""

    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    frames: list[Json] = field(default_factory=list)
    connection: Connection | None = None

    @property
    def shard_key(self) -> tuple[int, int]:
        """``(shard_id, shard_count)``: ``(0, 1)`` for a session identified without ``shard``."""
        if self.shard is None:
            return 0, 1
        return self.shard[0], self.shard[1]

    def holds(self, guild_id: int | None) -> bool:
        """Whether this session gets the events of ``guild_id`` (None: a DM, for shard 0)."""
        shard_id, shard_count = self.shard_key
        if guild_id is None:
            return shard_id == 0
        return shard_of(guild_id, shard_count) == shard_id

    def append(self, event: str, data: Any) -> None:
        """Number a dispatch, keep it for replay and wake the connection to send it."""
        self.seq += 1
        self.frames.append({"op": Op.DISPATCH, "t": event, "s": self.seq, "d": data})
        del self.frames[:-MAX_REPLAY]
        if self.connection is not None:
            self.connection.wake.set()

    def frames_after(self, seq: int) -> list[Json] | None:
        """Dispatches after ``seq``; None if some of them are no longer kept."""
        if self.frames and seq < self.frames[0]["s"] - 1:
            return None
        return [frame for frame in self.frames if frame["s"] > seq]


@dataclass(eq=False)
class Connection:
    """One websocket; ``sent`` is the last sequence written to it."""

    ws: web.WebSocketResponse
    request: web.Request
    session: Session | None = None
    sent: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, frame: Json) -> None:
        """Write one JSON text frame."""
        async with self.lock:
            await self.ws.send_str(json.dumps(frame, separators=(",", ":")))

    def cut(self) -> None:
        """Drop the TCP connection without a close frame, as a network failure does."""
        if self.request.transport is not None:
            self.request.transport.abort()

    async def pump(self) -> None:
        """Forward the session's dispatches, in order, for as long as the socket lives."""
        while not self.ws.closed:
            await self.wake.wait()
            self.wake.clear()
            session = self.session
            for frame in (session.frames_after(self.sent) or []) if session else []:
                await self.send(frame)
                self.sent = frame["s"]


class Gateway:
    """The gateway endpoint and its sessions."""

    def __init__(self, world: World, token: str, config: SandboxConfig, counters: Counters) -> None:
        self.world = world
        self.token = token
        self.config = config
        self.counters = counters
        self.url = ""
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self._identified_at: dict[int, float] = {}
        """Concurrency bucket (``shard_id % max_concurrency``) -> when it last let one in."""
        self._starts_used = 0
        self._starts_reset_at: float | None = None

    def dispatch(
        self, event: str, data: Any, intent: Intent | None = None, *, guild: int | None
    ) -> list[Session]:
        """Send an event of ``guild`` (None: of no guild, a DM) to every session holding that
        guild's shard (and with ``intent``, if given); offline ones keep it. Returns them."""
        reached = [
            session
            for session in self.sessions.values()
            if session.holds(guild) and (intent is None or session.intents & intent)
        ]
        for session in reached:
            session.append(event, data)
        return reached

    def message_created(self, message: Message) -> None:
        """MESSAGE_CREATE for a message the channel shows (ephemeral ones are not sent)."""
        if not message.ephemeral:
            guild = message.channel.guild.id
            self.dispatch(
                "MESSAGE_CREATE", message.to_payload(), Intent.GUILD_MESSAGES, guild=guild
            )

    def message_updated(self, message: Message) -> None:
        """MESSAGE_UPDATE after an edit."""
        if not message.ephemeral:
            guild = message.channel.guild.id
            self.dispatch(
                "MESSAGE_UPDATE", message.to_payload(), Intent.GUILD_MESSAGES, guild=guild
            )

    def message_deleted(self, message: Message) -> None:
        """MESSAGE_DELETE after a deletion."""
        if not message.ephemeral:
            guild = message.channel.guild.id
            ids = {"id": str(message.id), "channel_id": str(message.channel.id)}
            data = ids | {"guild_id": str(guild)}
            self.dispatch("MESSAGE_DELETE", data, Intent.GUILD_MESSAGES, guild=guild)

    def thread_created(self, thread: Channel) -> None:
        """THREAD_CREATE for a thread just created (``newly_created``, as Discord marks it)."""
        data = thread.to_payload() | {"newly_created": True}
        self.dispatch("THREAD_CREATE", data, Intent.GUILDS, guild=thread.guild.id)

    def thread_updated(self, thread: Channel) -> None:
        """THREAD_UPDATE after a thread changed (archived, unarchived, locked, renamed...)."""
        self.dispatch("THREAD_UPDATE", thread.to_payload(), Intent.GUILDS, guild=thread.guild.id)

    def thread_deleted(self, thread: Channel) -> None:
        """THREAD_DELETE: the id, guild, parent and type of the deleted thread."""
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild.id),
            "parent_id": None if thread.parent is None else str(thread.parent.id),
            "type": int(thread.type),
        }
        self.dispatch("THREAD_DELETE", data, Intent.GUILDS, guild=thread.guild.id)

    # -- sharding ------------------------------------------------------------------------

    def shard_guilds(self, shard_id: int, shard_count: int) -> list[Guild]:
        """The guilds the bot is in that shard ``[shard_id, shard_count]`` holds."""
        return [g for g in self.world.bot_guilds() if shard_of(g.id, shard_count) == shard_id]

    def recommended_shards(self) -> int:
        """``GET /gateway/bot``'s ``shards``."""
        return self.config.shards_for(len(self.world.bot_guilds()))

    def session_start_limit(self) -> Json:
        """``GET /gateway/bot``'s ``session_start_limit`` (``reset_after`` in milliseconds)."""
        self._renew_session_starts()
        moment = self.config.clock()
        reset_after = 0.0 if self._starts_reset_at is None else self._starts_reset_at - moment
        return {
            "total": self.config.session_start_total,
            "remaining": max(0, self.config.session_start_total - self._starts_used),
            "reset_after": max(0, round(reset_after * 1000)),
            "max_concurrency": self.config.max_concurrency,
        }

    def session_infos(self) -> list[SessionInfo]:
        """Every session, live or waiting for a RESUME, oldest first."""
        infos = []
        for session in self.sessions.values():
            shard_id, shard_count = session.shard_key
            guilds = frozenset(g.id for g in self.shard_guilds(shard_id, shard_count))
            connected = session.connection is not None
            infos.append(SessionInfo(session.id, shard_id, shard_count, connected, guilds))
        return infos

    def _renew_session_starts(self) -> None:
        if self._starts_reset_at is not None and self.config.clock() >= self._starts_reset_at:
            self._starts_used, self._starts_reset_at = 0, None

    def _take_session_start(self) -> bool:
        """Spend one of the session starts of this 24-hour period, if any is left."""
        self._renew_session_starts()
        if self._starts_used >= self.config.session_start_total:
            return False
        if self._starts_reset_at is None:
            self._starts_reset_at = self.config.clock() + SESSION_START_RESET
        self._starts_used += 1
        return True

    def _take_identify_slot(self, shard_id: int) -> bool:
        """Let one IDENTIFY through the bucket ``shard_id % max_concurrency``, at most one per
        ``identify_window`` seconds."""
        bucket = shard_id % max(1, self.config.max_concurrency)
        moment = self.config.clock()
        last = self._identified_at.get(bucket)
        if last is not None and moment - last < self.config.identify_window:
            return False
        self._identified_at[bucket] = moment
        return True

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """The aiohttp handler for ``GET /gateway``."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = Connection(ws, request)
        self.connections.add(connection)
        pump = asyncio.create_task(connection.pump())
        try:
            hello = {"heartbeat_interval": int(self.config.heartbeat_interval * 1000)}
            await connection.send({"op": Op.HELLO, "d": hello, "s": None, "t": None})
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    await ws.close(code=CloseCode.DECODE_ERROR)
                    break
                await self._receive(connection, json.loads(message.data))
        except (ConnectionError, json.JSONDecodeError):
            await ws.close(code=CloseCode.DECODE_ERROR)
        except Exception as error:
            self.counters.internal_error(error)
            await ws.close(code=1011)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await pump
            self._detach(connection)
        return ws

    async def _receive(self, connection: Connection, frame: Json) -> None:
        op, raw = frame.get("op"), frame.get("d")
        data: Json = raw if isinstance(raw, dict) else {}
        if op == Op.HEARTBEAT:
            await connection.send({"op": Op.HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == Op.IDENTIFY:
            await self._identify(connection, data)
        elif op == Op.RESUME:
            await self._resume(connection, data)
        elif connection.session is None:
            await connection.ws.close(code=CloseCode.NOT_AUTHENTICATED)
        elif op == Op.REQUEST_GUILD_MEMBERS:
            self._send_members(connection.session, data)
        elif op not in (Op.PRESENCE_UPDATE, Op.VOICE_STATE_UPDATE):
            await connection.ws.close(code=CloseCode.UNKNOWN_OPCODE)

    async def _identify(self, connection: Connection, data: Json) -> None:
        if connection.session is not None:
            await connection.ws.close(code=CloseCode.ALREADY_AUTHENTICATED)
            return
        if data.get("token") != self.token:
            await connection.ws.close(code=CloseCode.AUTHENTICATION_FAILED)
            return
        intents = int(data.get("intents", 0))
        privileged = sum(PRIVILEGED_INTENTS)
        if intents & privileged & ~self.config.privileged_intents:
            await connection.ws.close(code=CloseCode.DISALLOWED_INTENTS)
            return
        asked = data.get("shard")
        shard = (0, 1) if asked is None else parse_shard(asked)
        if shard is None:
            await connection.ws.close(code=CloseCode.INVALID_SHARD, message=b"Invalid shard.")
            return
        if not self._take_identify_slot(shard[0]):
            self.counters.identify_rate_limited += 1
            await connection.send({"op": Op.INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        guilds = self.shard_guilds(*shard)
        if len(guilds) > self.config.max_guilds_per_shard:
            await connection.ws.close(
                code=CloseCode.SHARDING_REQUIRED, message=b"Sharding is required."
            )
            return
        if not self._take_session_start():
            await connection.ws.close(
                code=CloseCode.AUTHENTICATION_FAILED, message=b"Session start limit reached."
            )
            return
        self.counters.identifies += 1
        self.counters.identifies_by_shard[shard] += 1
        session = Session(secrets.token_hex(16), intents, None if asked is None else list(shard))
        self.sessions[session.id] = session
        self._attach(connection, session, 0)
        session.append("READY", self._ready(session, guilds))
        for guild in guilds:
            session.append("GUILD_CREATE", guild.to_payload() | {"unavailable": False})

    async def _resume(self, connection: Connection, data: Json) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        seq = int(data.get("seq") or 0)
        if (
            data.get("token") != self.token
            or session is None
            or session.frames_after(seq) is None
            or seq > session.seq
        ):
            await connection.send({"op": Op.INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.counters.resumes += 1
        if session.connection is not None and session.connection is not connection:
            session.connection.cut()  # a stale socket Discord has not noticed is dead yet
        self._attach(connection, session, seq)
        session.append("RESUMED", {"_trace": ["sandbox"]})

    def _attach(self, connection: Connection, session: Session, sent: int) -> None:
        connection.session, connection.sent = session, sent
        session.connection = connection
        connection.wake.set()

    def _detach(self, connection: Connection) -> None:
        self.connections.discard(connection)
        session = connection.session
        if session is None or session.connection is not connection:
            return
        session.connection = None
        if connection.ws.close_code in (1000, 1001):
            # A clean close by the client ends the session, as on Discord.
            self.sessions.pop(session.id, None)

    def _ready(self, session: Session, guilds: list[Guild]) -> Json:
        application = self.world.application
        ready: Json = {
            "v": 10,
            "user": self.world.bot.to_payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "application": {"id": str(application.id), "flags": application.flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        return ready

    def _send_members(self, session: Session, data: Json) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id", 0)))
        members = [member.to_payload() for member in guild.members.values()] if guild else []
        chunk = {
            "guild_id": str(data.get("guild_id")),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.append("GUILD_MEMBERS_CHUNK", chunk)

    async def drop(self, *, forget_session: bool = False) -> None:
        """Cut every live connection without a close frame, as a network failure does.

        With ``forget_session`` the sessions are gone too, so the client's RESUME is answered
        with an invalid session (op 9) and it identifies again.
        """
        for connection in list(self.connections):
            if forget_session and connection.session is not None:
                self.sessions.pop(connection.session.id, None)
            connection.cut()

    async def invalidate(self, *, resumable: bool = False) -> None:
        """Send op 9 on every identified connection; not resumable ends the sessions."""
        for connection in list(self.connections):
            session = connection.session
            if session is None:
                continue
            if not resumable:
                self.sessions.pop(session.id, None)
            await connection.send({"op": Op.INVALID_SESSION, "d": resumable, "s": None, "t": None})

    async def close(self) -> None:
        """Close every connection (server shutting down)."""
        for connection in list(self.connections):
            await connection.ws.close(code=1001, message=b"sandbox stopping")
