"""The REST API (v10) and the gateway endpoint, as one aiohttp application.

Every request passes the same edge as on Discord (:meth:`Api.edge`): injected faults, the bot
token, the global and per-route rate limits, and the counters. Handlers are thin: they parse the
request, ask the :class:`~discord_sandbox.state.World` (or the interaction desk) and render JSON.
Every JSON answer carries ``Content-Type: application/json`` exactly, as discord.py requires.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import BodyPartReader, hdrs, web

from discord_sandbox.commands import CommandRegistry
from discord_sandbox.config import Clock
from discord_sandbox.counters import Counters
from discord_sandbox.errors import (
    ApiError,
    already_crossposted,
    archived_thread,
    cannot_send_in_forum,
    invalid_form_body,
    invalid_json,
    missing_access,
    missing_permissions,
    tag_required,
    unauthorized,
    unknown_message,
    unknown_tag,
    wrong_channel_type,
)
from discord_sandbox.faults import Faults
from discord_sandbox.gateway import Gateway, Intent
from discord_sandbox.interactions import Interactions
from discord_sandbox.permissions import Permission
from discord_sandbox.ratelimit import RateLimiter
from discord_sandbox.state import (
    ARCHIVE_DURATIONS,
    CHANNEL_FLAG_REQUIRE_TAG,
    FLAG_CROSSPOSTED,
    Channel,
    ChannelType,
    Json,
    Message,
    Upload,
    World,
    now,
)
from discord_sandbox.validation import FormErrors, validate_message

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway"
MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id", "interaction_id", "token")
TEXT_CHANNELS = (ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.VOICE)
MAX_THREAD_NAME = 100
MAX_APPLIED_TAGS = 5
NONCE_WINDOW = 300.0
"""Seconds during which a message nonce sent with ``enforce_nonce`` is unique ("a few minutes")."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer with ``Content-Type: application/json`` and no charset."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def _server_error(status: int) -> web.Response:
    """An injected failure's answer."""
    return json_response({"message": f"{status}: Server Error", "code": 0}, status)


def no_content() -> web.Response:
    """204, for deletions and un-awaited webhook sends."""
    return web.Response(status=204)


def snowflake(request: web.Request, key: str) -> int:
    """A snowflake path parameter; 400 50035 if it is not one."""
    value = request.match_info[key]
    if not value.isdigit():
        error = {"code": "NUMBER_TYPE_COERCE", "message": f'Value "{value}" is not snowflake.'}
        raise invalid_form_body({key: {"_errors": [error]}})
    return int(value)


def flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter (``1``/``true``)."""
    return request.query.get(name, "").lower() in ("1", "true")


async def read_json(request: web.Request) -> Any:
    """The JSON body; 400 50109 if it is not JSON."""
    try:
        return json.loads(await request.read() or b"{}")
    except ValueError:
        raise invalid_json() from None


async def read_message_body(request: web.Request) -> tuple[Json, list[Upload]]:
    """A message body: JSON, or multipart with ``payload_json`` and ``files[n]`` parts."""
    if request.content_type != "multipart/form-data":
        body = await read_json(request)
        if not isinstance(body, dict):
            raise invalid_json()
        return body, []
    reader = await request.multipart()
    body, uploads = {}, []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "payload_json":
            try:
                body = json.loads(await part.text())
            except ValueError:
                raise invalid_json() from None
        elif part.name and part.name.startswith("files["):
            content_type = part.headers.get(hdrs.CONTENT_TYPE)
            uploads.append(Upload(part.filename or "file", bytes(await part.read()), content_type))
    return body, uploads


@dataclass(frozen=True)
class RouteSpec:
    """One REST route: ``bot_auth`` needs the bot token; ``interaction`` is exempt from the
    global limit (interaction callbacks, followups and ``@original`` edits)."""

    method: str
    path: str
    handler: Handler
    bot_auth: bool = True
    interaction: bool = False

    @property
    def key(self) -> str:
        """``"METHOD /template"``, the name counters and buckets use."""
        return f"{self.method} {self.path}"


class Api:
    """The sandbox's HTTP side."""

    def __init__(
        self,
        *,
        world: World,
        commands: CommandRegistry,
        interactions: Interactions,
        gateway: Gateway,
        limiter: RateLimiter,
        faults: Faults,
        counters: Counters,
        token: str,
        clock: Clock = time.monotonic,
    ) -> None:
        self.world = world
        self.commands = commands
        self.interactions = interactions
        self.gateway = gateway
        self.limiter = limiter
        self.faults = faults
        self.counters = counters
        self.token = token
        self.clock = clock
        self._specs: dict[object, RouteSpec] = {}
        self._nonces: dict[tuple[int, str], tuple[Message, float]] = {}

    def routes(self) -> list[RouteSpec]:
        """Every REST route the sandbox serves."""
        webhook = {"bot_auth": False, "interaction": True}
        messages = "/webhooks/{webhook_id}/{token}/messages/{message_id}"
        return [
            RouteSpec("GET", "/users/@me", self.get_current_user),
            RouteSpec("GET", "/oauth2/applications/@me", self.get_application),
            RouteSpec("GET", "/gateway", self.get_gateway, bot_auth=False),
            RouteSpec("GET", "/gateway/bot", self.get_gateway_bot),
            RouteSpec("GET", "/applications/{application_id}/commands", self.get_commands),
            RouteSpec("PUT", "/applications/{application_id}/commands", self.put_commands),
            RouteSpec(
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self.get_commands,
            ),
            RouteSpec(
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self.put_commands,
            ),
            RouteSpec("GET", "/channels/{channel_id}", self.get_channel),
            RouteSpec("PATCH", "/channels/{channel_id}", self.edit_channel),
            RouteSpec("POST", "/channels/{channel_id}/threads", self.create_thread),
            RouteSpec(
                "GET", "/channels/{channel_id}/threads/archived/public", self.archived_threads
            ),
            RouteSpec("GET", "/guilds/{guild_id}/threads/active", self.active_threads),
            RouteSpec(
                "POST",
                "/channels/{channel_id}/messages/{message_id}/crosspost",
                self.crosspost,
            ),
            RouteSpec("POST", "/channels/{channel_id}/typing", self.trigger_typing),
            RouteSpec("GET", "/channels/{channel_id}/messages", self.get_messages),
            RouteSpec("POST", "/channels/{channel_id}/messages", self.post_message),
            RouteSpec("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            RouteSpec("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            RouteSpec(
                "DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message
            ),
            RouteSpec(
                "POST",
                "/interactions/{interaction_id}/{token}/callback",
                self.interaction_callback,
                **webhook,
            ),
            RouteSpec("POST", "/webhooks/{webhook_id}/{token}", self.followup, **webhook),
            RouteSpec("GET", messages, self.get_webhook_message, **webhook),
            RouteSpec("PATCH", messages, self.edit_webhook_message, **webhook),
            RouteSpec("DELETE", messages, self.delete_webhook_message, **webhook),
        ]

    def app(self) -> web.Application:
        """The aiohttp application: REST under ``/api/v10`` and the gateway at ``/gateway``."""
        app = web.Application(middlewares=[self.edge])
        for spec in self.routes():
            route = app.router.add_route(spec.method, API_PREFIX + spec.path, spec.handler)
            self._specs[route] = spec
        app.router.add_get(GATEWAY_PATH, self.gateway.handle)
        return app

    @web.middleware
    async def edge(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Faults, authentication, rate limits, error shape and counting, for every REST call."""
        spec = self._specs.get(request.match_info.route)
        if spec is None:
            if not request.path.startswith(API_PREFIX):
                return await handler(request)
            refusal = request.match_info.http_exception
            status, reason = (
                (404, "Not Found") if refusal is None else (refusal.status, refusal.reason)
            )
            self.counters.record(f"{request.method} {request.path}", status)
            return json_response({"message": f"{status}: {reason}", "code": 0}, status)
        response = await self._answer(request, spec)
        self.counters.record(spec.key, response.status)
        return response

    async def _answer(self, request: web.Request, spec: RouteSpec) -> web.StreamResponse:
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        held = self.faults.take_hold(spec.method, spec.path, dict(request.match_info))
        if held is not None and not held.after_handling and not await held.wait_for_decision():
            return _server_error(503)
        status = self.faults.take_failure(spec.method, spec.path)
        if status is not None:
            return _server_error(status)
        authorized = request.headers.get(hdrs.AUTHORIZATION) == f"Bot {self.token}"
        if spec.bot_auth and not authorized:
            return json_response(unauthorized().payload(), 401)
        major = "+".join(
            request.match_info[key] for key in MAJOR_PARAMETERS if key in request.match_info
        )
        spender = self.token if authorized and not spec.interaction else None
        verdict = self.limiter.check(spec.key, major, spender)
        if verdict.retry_after is not None:
            return json_response(verdict.body(), 429, verdict.headers)
        try:
            response = await spec.handler(request)
        except ApiError as error:
            response = json_response(error.payload(), error.status)
        except Exception as error:
            self.counters.internal_error(error)
            response = json_response({"message": "500: Internal Server Error", "code": 0}, 500)
        if held is not None and held.after_handling and not await held.wait_for_decision():
            return _server_error(503)
        status = self.faults.take_failure_after_handling(spec.method, spec.path)
        if status is not None:
            return _server_error(status)
        response.headers.update(verdict.headers)
        return response

    # -- login ---------------------------------------------------------------------------

    async def get_current_user(self, request: web.Request) -> web.Response:
        """``GET /users/@me``: the bot user."""
        extra = {"verified": True, "mfa_enabled": False, "flags": 0, "locale": "en-US"}
        return json_response(self.world.bot.to_payload() | extra)

    async def get_application(self, request: web.Request) -> web.Response:
        """``GET /oauth2/applications/@me``."""
        return json_response(self.world.application.to_payload())

    async def get_gateway(self, request: web.Request) -> web.Response:
        """``GET /gateway``."""
        return json_response({"url": self.gateway.url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        """``GET /gateway/bot``: the gateway URL, the recommended shard count (one per 1,000
        guilds unless ``SandboxConfig.recommended_shards`` says otherwise) and the
        ``session_start_limit`` (``remaining`` goes down with every session started)."""
        return json_response(
            {
                "url": self.gateway.url,
                "shards": self.gateway.recommended_shards(),
                "session_start_limit": self.gateway.session_start_limit(),
            }
        )

    # -- application commands ------------------------------------------------------------

    def _command_scope(self, request: web.Request) -> int | None:
        if snowflake(request, "application_id") != self.world.application.id:
            raise missing_access()
        if "guild_id" not in request.match_info:
            return None
        guild = self.world.guilds.get(snowflake(request, "guild_id"))
        if guild is None or guild.bot_member is None:
            raise missing_access()
        return guild.id

    async def get_commands(self, request: web.Request) -> web.Response:
        """``GET /applications/{app}[/guilds/{guild}]/commands``."""
        return json_response(self.commands.commands(self._command_scope(request)))

    async def put_commands(self, request: web.Request) -> web.Response:
        """``PUT /applications/{app}[/guilds/{guild}]/commands``: bulk overwrite (a sync)."""
        scope = self._command_scope(request)
        body = await read_json(request)
        if not isinstance(body, list):
            raise invalid_json()
        return json_response(self.commands.overwrite(scope, body))

    # -- channels and messages -----------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}``."""
        return json_response(self.world.bot_channel(snowflake(request, "channel_id")).to_payload())

    async def trigger_typing(self, request: web.Request) -> web.Response:
        """``POST /channels/{id}/typing``."""
        self.world.bot_channel(snowflake(request, "channel_id"), Permission.SEND_MESSAGES)
        return no_content()

    async def post_message(self, request: web.Request) -> web.Response:
        """``POST /channels/{id}/messages``.

        Needs View Channel (else 403 50001), Send Messages, Embed Links when it has embeds and
        Attach Files when it has files (else 403 50013). Discord silently drops embeds without
        Embed Links; the sandbox refuses instead, so a bot missing the permission is noticed.
        With ``enforce_nonce``, a nonce already used in the channel within NONCE_WINDOW returns
        that message instead of posting again (discord.py sends one with every message, so its
        own retry of a 500 does not post twice).
        """
        body, uploads = await read_message_body(request)
        channel_id = snowflake(request, "channel_id")
        target = self.world.channels.get(channel_id)
        in_thread = target is not None and target.is_thread
        needs = Permission.SEND_MESSAGES_IN_THREADS if in_thread else Permission.SEND_MESSAGES
        needs |= _attachment_needs(body, uploads)
        channel = self.world.bot_channel(channel_id, needs)
        if channel.type is ChannelType.FORUM:
            raise cannot_send_in_forum()
        if channel.type not in TEXT_CHANNELS and not in_thread:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        validate_message(body, files=len(uploads))
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce is not None:
            earlier = self._nonces.get((channel.id, str(nonce)))
            fresh = earlier is not None and self.clock() - earlier[1] < NONCE_WINDOW
            if earlier is not None and fresh and not earlier[0].deleted:
                return json_response(earlier[0].to_payload())
        if in_thread:
            self._reopen_for_post(channel)
        message = self.world.create_message(channel, body, uploads)
        if nonce is not None:
            self._nonces[(channel.id, str(nonce))] = (message, self.clock())
        self.gateway.message_created(message)
        return json_response(message.to_payload())

    async def get_messages(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}/messages?limit&before&after&around``, newest first.

        Without Read Message History the list is empty, as Discord documents.
        """
        channel = self.world.bot_channel(snowflake(request, "channel_id"))
        limit = request.query.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 100:
            error = {"code": "NUMBER_TYPE_MAX", "message": "Must be between 1 and 100."}
            raise invalid_form_body({"limit": {"_errors": [error]}})
        if not channel.permissions_of_bot() & Permission.READ_MESSAGE_HISTORY:
            return json_response([])
        anchors = {k: int(v) for k in ("before", "after", "around") if (v := request.query.get(k))}
        page = history(channel.messages, int(limit), **anchors)
        return json_response([message.to_payload() for message in page])

    def _channel_message(self, request: web.Request, needs: Permission) -> Message:
        channel = self.world.bot_channel(snowflake(request, "channel_id"), needs)
        message = self.world.messages.get(snowflake(request, "message_id"))
        if message is None or message.channel is not channel or message.ephemeral:
            raise unknown_message()
        return message

    async def get_message(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}/messages/{message_id}``."""
        message = self._channel_message(request, Permission.READ_MESSAGE_HISTORY)
        return json_response(message.to_payload())

    async def edit_message(self, request: web.Request) -> web.Response:
        """``PATCH /channels/{id}/messages/{message_id}``: the bot edits its own message."""
        body, uploads = await read_message_body(request)
        needs = Permission.EMBED_LINKS if body.get("embeds") else Permission.NONE
        message = self._channel_message(request, needs)
        if message.author is not self.world.bot:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        if message.channel.archived:
            raise archived_thread()
        validate_message(body, partial=True, files=len(uploads))
        message.apply(body, uploads, self.world)
        message.edited_at = now()
        self.gateway.message_updated(message)
        return json_response(message.to_payload())

    async def delete_message(self, request: web.Request) -> web.Response:
        """``DELETE /channels/{id}/messages/{message_id}``."""
        message = self._channel_message(request, Permission.NONE)
        if message.author is not self.world.bot:
            self.world.bot_channel(message.channel.id, Permission.MANAGE_MESSAGES)
        self.world.delete_message(message)
        self.gateway.message_deleted(message)
        return no_content()

    async def crosspost(self, request: web.Request) -> web.Response:
        """``POST /channels/{id}/messages/{message_id}/crosspost``: publish a message of an
        announcement channel to the channels following it.

        Announcement channels only (else 400 50024); the bot's own message needs Send Messages,
        another's Manage Messages (403 50013); a message publishes once (400 40033). Publishing is
        limited per channel (``RateLimits.crosspost_*``, Discord: 10 an hour, every attempt
        counted): past it the edge answers 429, scope ``shared``, with the wait in
        ``retry_after`` (see ``RateLimiter``).
        """
        channel = self.world.bot_channel(snowflake(request, "channel_id"))
        if channel.type is not ChannelType.ANNOUNCEMENT:
            raise wrong_channel_type()
        message = self._channel_message(request, Permission.NONE)
        own = message.author is self.world.bot
        self.world.bot_channel(
            channel.id, Permission.SEND_MESSAGES if own else Permission.MANAGE_MESSAGES
        )
        if message.flags & FLAG_CROSSPOSTED:
            raise already_crossposted()
        message.flags |= FLAG_CROSSPOSTED
        channel.crossposts.append(message)
        self.gateway.message_updated(message)
        return json_response(message.to_payload())

    # -- threads and forums --------------------------------------------------------------

    def _reopen_for_post(self, thread: Channel) -> None:
        """Before a message goes into a thread: a locked one needs Manage Threads (else 400
        50083, what Discord answers there), an archived one is unarchived (THREAD_UPDATE)."""
        metadata = thread.metadata
        assert metadata is not None
        moderator = thread.permissions_of_bot() & Permission.MANAGE_THREADS
        if metadata.locked and not moderator:
            raise archived_thread()
        if metadata.archived:
            metadata.archived = False
            metadata.archive_timestamp = now()
            self.gateway.thread_updated(thread)

    async def create_thread(self, request: web.Request) -> web.Response:
        """``POST /channels/{id}/threads``: a forum post, or a thread without a message.

        In a forum (type 15) the body is ``name`` (1-100), ``message`` (a message body, checked
        like any) and ``applied_tags`` (at most 5 of the forum's tag ids; moderated ones need
        Manage Threads, an unknown one is 400 10087). A forum with REQUIRE_TAG refuses a post
        without a tag: 400 40067. Needs Send Messages (and Embed Links, Attach Files as a
        message does). The post is a public thread whose starter message has the thread's id;
        answered 201 with the thread and its ``message``; THREAD_CREATE then MESSAGE_CREATE.

        In a text channel (public or private thread, ``type`` 11 or 12, default 12) or an
        announcement channel (type 10): a thread without a starter message, which needs Create
        Public (Private) Threads.
        """
        body, uploads = await read_message_body(request)
        channel_id = snowflake(request, "channel_id")
        target = self.world.channels.get(channel_id)
        if target is not None and target.type is ChannelType.FORUM:
            return await self._create_post(channel_id, body, uploads)
        kind = _thread_kind(target, body.get("type"))
        needs = (
            Permission.CREATE_PRIVATE_THREADS
            if kind is ChannelType.PRIVATE_THREAD
            else Permission.CREATE_PUBLIC_THREADS
        )
        channel = self.world.bot_channel(channel_id, needs)
        errors = FormErrors()
        errors.required_text(("name",), body.get("name"), MAX_THREAD_NAME)
        duration = _archive_duration(body, errors)
        errors.raise_if_any()
        thread = self.world.create_thread(
            channel, str(body["name"]), kind, owner=self.world.bot, auto_archive_duration=duration
        )
        self.gateway.thread_created(thread)
        return json_response(thread.to_payload(), 201)

    async def _create_post(
        self, forum_id: int, body: Mapping[str, Any], uploads: list[Upload]
    ) -> web.Response:
        message_body = body.get("message")
        needs = Permission.SEND_MESSAGES
        if isinstance(message_body, dict):
            needs |= _attachment_needs(message_body, uploads)
        forum = self.world.bot_channel(forum_id, needs)
        errors = FormErrors()
        errors.required_text(("name",), body.get("name"), MAX_THREAD_NAME)
        if not isinstance(message_body, dict):
            errors.add(("message",), "BASE_TYPE_REQUIRED", "This field is required")
        tags = body.get("applied_tags") or []
        if not isinstance(tags, list):
            errors.add(("applied_tags",), "LIST_TYPE_CONVERT", "Only iterables may be used")
            tags = []
        errors.max_length(("applied_tags",), tags, MAX_APPLIED_TAGS)
        duration = _archive_duration(body, errors)
        errors.raise_if_any()
        assert isinstance(message_body, dict)
        validate_message(message_body, prefix=("message",), files=len(uploads))
        applied = self._forum_tags(forum, tags)
        if forum.flags & CHANNEL_FLAG_REQUIRE_TAG and not applied:
            raise tag_required()
        thread = self.world.create_thread(
            forum,
            str(body["name"]),
            ChannelType.PUBLIC_THREAD,
            owner=self.world.bot,
            auto_archive_duration=duration,
            applied_tags=applied,
        )
        message = self.world.create_message(thread, message_body, uploads, message_id=thread.id)
        self.gateway.thread_created(thread)
        self.gateway.message_created(message)
        return json_response(thread.to_payload() | {"message": message.to_payload()}, 201)

    def _forum_tags(self, forum: Channel, values: list[Any]) -> list[int]:
        """The tag ids asked for, each one of the forum's; moderated ones need Manage Threads."""
        known = {tag.id: tag for tag in forum.available_tags}
        applied: list[int] = []
        for value in values:
            tag = known.get(int(value)) if str(value).isdigit() else None
            if tag is None:
                raise unknown_tag()
            if tag.moderated and not forum.permissions_of_bot() & Permission.MANAGE_THREADS:
                raise missing_permissions()
            if tag.id not in applied:
                applied.append(tag.id)
        return applied

    async def edit_channel(self, request: web.Request) -> web.Response:
        """``PATCH /channels/{id}``: for a thread, ``archived``, ``locked``, ``name``,
        ``auto_archive_duration`` and (forum posts) ``applied_tags``; for a channel, ``name``.

        As Discord documents: unarchiving needs only access to the thread, unless it is locked
        (then Manage Threads, else 403 50013); ``locked`` needs Manage Threads; ``name``,
        archiving and ``auto_archive_duration`` need Manage Threads or being the thread's creator.
        An archived thread takes no other change until it is unarchived (400 50083). Answers the
        channel; THREAD_UPDATE (CHANNEL_UPDATE for a channel).
        """
        body = await read_json(request)
        if not isinstance(body, dict):
            raise invalid_json()
        channel_id = snowflake(request, "channel_id")
        channel = self.world.bot_channel(channel_id)
        if channel.metadata is None:
            channel = self.world.bot_channel(channel_id, Permission.MANAGE_CHANNELS)
            errors = FormErrors()
            if "name" in body:
                errors.required_text(("name",), body["name"], MAX_THREAD_NAME)
            errors.raise_if_any()
            channel.name = str(body.get("name", channel.name))
            self.gateway.dispatch(
                "CHANNEL_UPDATE", channel.to_payload(), Intent.GUILDS, guild=channel.guild.id
            )
            return json_response(channel.to_payload())
        metadata = channel.metadata
        moderator = bool(channel.permissions_of_bot() & Permission.MANAGE_THREADS)
        creator = moderator or channel.owner_id == self.world.bot.id
        unarchive = body.get("archived") is False
        if (metadata.locked or "locked" in body) and not moderator:
            raise missing_permissions()
        if metadata.archived and not unarchive:
            raise archived_thread()
        if (body.get("archived") or {"name", "auto_archive_duration"} & body.keys()) and (
            not creator
        ):
            raise missing_permissions()
        errors = FormErrors()
        if "name" in body:
            errors.required_text(("name",), body["name"], MAX_THREAD_NAME)
        duration = _archive_duration(body, errors, metadata.auto_archive_duration)
        tags = body.get("applied_tags")
        errors.max_length(("applied_tags",), tags, MAX_APPLIED_TAGS)
        errors.raise_if_any()
        if isinstance(tags, list) and channel.parent is not None:
            channel.applied_tags = self._forum_tags(channel.parent, tags)
        channel.name = str(body.get("name", channel.name))
        metadata.auto_archive_duration = duration
        if "locked" in body:
            metadata.locked = bool(body["locked"])
        if "archived" in body and bool(body["archived"]) != metadata.archived:
            metadata.archived = bool(body["archived"])
            metadata.archive_timestamp = now()
        self.gateway.thread_updated(channel)
        return json_response(channel.to_payload())

    async def active_threads(self, request: web.Request) -> web.Response:
        """``GET /guilds/{id}/threads/active``: the guild's active threads the bot can see."""
        guild = self.world.guilds.get(snowflake(request, "guild_id"))
        if guild is None or guild.bot_member is None:
            raise missing_access()
        threads = [thread.to_payload() for thread in guild.active_threads()]
        return json_response({"threads": threads, "members": []})

    async def archived_threads(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}/threads/archived/public?before&limit``: archived public threads,
        most recently archived first, ``before`` an ISO 8601 timestamp. Needs Read Message
        History (403 50013)."""
        channel = self.world.bot_channel(
            snowflake(request, "channel_id"), Permission.READ_MESSAGE_HISTORY
        )
        if channel.type not in (ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.FORUM):
            raise wrong_channel_type()
        limit = request.query.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 100:
            error = {"code": "NUMBER_TYPE_MAX", "message": "Must be between 1 and 100."}
            raise invalid_form_body({"limit": {"_errors": [error]}})
        before = _timestamp_query(request, "before")
        archived = [
            thread
            for thread in self.world.threads_of(channel)
            if thread.metadata is not None
            and thread.metadata.archived
            and thread.type is not ChannelType.PRIVATE_THREAD
            and (before is None or thread.metadata.archive_timestamp < before)
        ]
        archived.sort(key=lambda t: t.metadata.archive_timestamp if t.metadata else now())
        archived.reverse()
        page = archived[: int(limit)]
        return json_response(
            {
                "threads": [thread.to_payload() for thread in page],
                "members": [],
                "has_more": len(archived) > len(page),
            }
        )

    # -- interactions --------------------------------------------------------------------

    async def interaction_callback(self, request: web.Request) -> web.Response:
        """``POST /interactions/{id}/{token}/callback[?with_response=1]``."""
        body, uploads = await read_message_body(request)
        interaction_id = snowflake(request, "interaction_id")
        token = request.match_info["token"]
        reply = self.interactions.respond(interaction_id, token, body, uploads)
        return json_response(reply) if flag(request, "with_response") else no_content()

    async def followup(self, request: web.Request) -> web.Response:
        """``POST /webhooks/{app}/{token}[?wait=1]``: a followup message."""
        body, uploads = await read_message_body(request)
        app_id, token = snowflake(request, "webhook_id"), request.match_info["token"]
        message = self.interactions.followup(app_id, token, body, uploads)
        return json_response(message.to_payload()) if flag(request, "wait") else no_content()

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        """``GET /webhooks/{app}/{token}/messages/{@original|id}``."""
        app_id, token = snowflake(request, "webhook_id"), request.match_info["token"]
        message = self.interactions.fetch(app_id, token, request.match_info["message_id"])
        return json_response(message.to_payload())

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        """``PATCH /webhooks/{app}/{token}/messages/{@original|id}``."""
        body, uploads = await read_message_body(request)
        app_id, token = snowflake(request, "webhook_id"), request.match_info["token"]
        reference = request.match_info["message_id"]
        message = self.interactions.edit(app_id, token, reference, body, uploads)
        return json_response(message.to_payload())

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        """``DELETE /webhooks/{app}/{token}/messages/{@original|id}``."""
        app_id, token = snowflake(request, "webhook_id"), request.match_info["token"]
        self.interactions.delete(app_id, token, request.match_info["message_id"])
        return no_content()


def _attachment_needs(body: Mapping[str, Any], uploads: list[Upload]) -> Permission:
    """Embed Links for embeds, Attach Files for files."""
    needs = Permission.NONE
    if body.get("embeds"):
        needs |= Permission.EMBED_LINKS
    if uploads:
        needs |= Permission.ATTACH_FILES
    return needs


def _thread_kind(parent: Channel | None, asked: object) -> ChannelType:
    """The type of a thread started without a message in ``parent``."""
    if parent is None:
        return ChannelType.PUBLIC_THREAD  # bot_channel answers 404 next
    if parent.type is ChannelType.ANNOUNCEMENT:
        return ChannelType.ANNOUNCEMENT_THREAD
    if parent.type is not ChannelType.TEXT:
        raise wrong_channel_type()
    if asked is None or asked == ChannelType.PRIVATE_THREAD:
        return ChannelType.PRIVATE_THREAD
    if asked == ChannelType.PUBLIC_THREAD:
        return ChannelType.PUBLIC_THREAD
    error = {"code": "BASE_TYPE_CHOICES", "message": "Value must be one of {11, 12}."}
    raise invalid_form_body({"type": {"_errors": [error]}})


def _archive_duration(body: Mapping[str, Any], errors: FormErrors, default: int = 1440) -> int:
    """``auto_archive_duration``: one of 60, 1440, 4320, 10080 minutes."""
    value = body.get("auto_archive_duration")
    if value is None:
        return default
    if value not in ARCHIVE_DURATIONS:
        choices = set(ARCHIVE_DURATIONS)
        errors.add(
            ("auto_archive_duration",), "BASE_TYPE_CHOICES", f"Value must be one of {choices}."
        )
        return default
    return int(value)


def _timestamp_query(request: web.Request, name: str) -> datetime | None:
    """An ISO 8601 query parameter (400 50035 if it is not one)."""
    value = request.query.get(name)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        error = {"code": "DATE_TIME_TYPE_PARSE", "message": f"Could not parse {value}."}
        raise invalid_form_body({name: {"_errors": [error]}}) from None


def history(
    messages: list[Message],
    limit: int,
    *,
    before: int | None = None,
    after: int | None = None,
    around: int | None = None,
) -> list[Message]:
    """One page of channel history, newest first, with Discord's ``before/after/around``.

    ``after`` returns the ``limit`` messages right after the anchor (still newest first), which
    is what discord.py's ``history(after=...)`` paging relies on.
    """
    ordered = sorted(messages, key=lambda message: message.id)
    if around is not None:
        older = [m for m in ordered if m.id < around][-(limit // 2) :] if limit > 1 else []
        newer = [m for m in ordered if m.id >= around][: limit - len(older)]
        page = older + newer
    elif after is not None:
        page = [m for m in ordered if m.id > after][:limit]
    else:
        page = [m for m in ordered if before is None or m.id < before][-limit:]
    return page[::-1]
