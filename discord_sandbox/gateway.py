"""Gateway v10 over a websocket: HELLO, IDENTIFY/READY, heartbeats, RESUME and events.

Every dispatch is numbered and kept per session, so a client that drops and RESUMEs gets what it
missed replayed before RESUMED. Frames are plain JSON text, which discord.py accepts whatever
``compress`` it asked for (zlib-stream or zstd-stream): it only decompresses binary frames.
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

from discord_sandbox.config import PRIVILEGED_INTENTS, SandboxConfig
from discord_sandbox.counters import Counters
from discord_sandbox.state import Channel, Json, Message, World

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
    DISALLOWED_INTENTS = 4014


@dataclass(eq=False)
class Session:
    """One identified session: its numbered dispatches and the connection reading them."""

    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    frames: list[Json] = field(default_factory=list)
    connection: Connection | None = None

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

    def dispatch(self, event: str, data: Any, intent: Intent | None = None) -> None:
        """Send an event to every session (with ``intent``, if given); offline ones keep it."""
        for session in self.sessions.values():
            if intent is None or session.intents & intent:
                session.append(event, data)

    def message_created(self, message: Message) -> None:
        """MESSAGE_CREATE for a message the channel shows (ephemeral ones are not sent)."""
        if not message.ephemeral:
            self.dispatch("MESSAGE_CREATE", message.to_payload(), Intent.GUILD_MESSAGES)

    def message_updated(self, message: Message) -> None:
        """MESSAGE_UPDATE after an edit."""
        if not message.ephemeral:
            self.dispatch("MESSAGE_UPDATE", message.to_payload(), Intent.GUILD_MESSAGES)

    def message_deleted(self, message: Message) -> None:
        """MESSAGE_DELETE after a deletion."""
        if not message.ephemeral:
            ids = {"id": str(message.id), "channel_id": str(message.channel.id)}
            data = ids | {"guild_id": str(message.channel.guild.id)}
            self.dispatch("MESSAGE_DELETE", data, Intent.GUILD_MESSAGES)

    def thread_created(self, thread: Channel) -> None:
        """THREAD_CREATE for a thread just created (``newly_created``, as Discord marks it)."""
        self.dispatch("THREAD_CREATE", thread.to_payload() | {"newly_created": True}, Intent.GUILDS)

    def thread_updated(self, thread: Channel) -> None:
        """THREAD_UPDATE after a thread changed (archived, unarchived, locked, renamed...)."""
        self.dispatch("THREAD_UPDATE", thread.to_payload(), Intent.GUILDS)

    def thread_deleted(self, thread: Channel) -> None:
        """THREAD_DELETE: the id, guild, parent and type of the deleted thread."""
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild.id),
            "parent_id": None if thread.parent is None else str(thread.parent.id),
            "type": int(thread.type),
        }
        self.dispatch("THREAD_DELETE", data, Intent.GUILDS)

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
        self.counters.identifies += 1
        session = Session(secrets.token_hex(16), intents, data.get("shard"))
        self.sessions[session.id] = session
        self._attach(connection, session, 0)
        session.append("READY", self._ready(session))
        for guild in self.world.bot_guilds():
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

    def _ready(self, session: Session) -> Json:
        application = self.world.application
        ready: Json = {
            "v": 10,
            "user": self.world.bot.to_payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in self.world.bot_guilds()],
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
