"""Interactions: dispatching them to the bot and taking its responses, as Discord does.

A test opens an interaction (a slash command, an autocomplete, a button click); the gateway
delivers INTERACTION_CREATE; the bot answers through the callback, followup and ``@original``
webhook routes handled here. Everything the bot did is recorded on the
:class:`InteractionResult`, including the requests Discord would have refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from discord_sandbox.config import SandboxConfig
from discord_sandbox.errors import (
    ApiError,
    SandboxUsageError,
    already_acknowledged,
    invalid_webhook_token,
    unknown_channel,
    unknown_interaction,
    unknown_message,
    unknown_webhook,
)
from discord_sandbox.gateway import Gateway
from discord_sandbox.permissions import as_payload
from discord_sandbox.state import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    Channel,
    Json,
    Member,
    Message,
    MessageType,
    Upload,
    World,
    now,
)
from discord_sandbox.validation import FormErrors, validate_choices, validate_message

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class InteractionType(enum.IntEnum):
    """Interaction types the sandbox can send."""

    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4


class CallbackType(enum.IntEnum):
    """Initial response types the sandbox accepts."""

    CHANNEL_MESSAGE = 4
    DEFERRED_CHANNEL_MESSAGE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE_RESULT = 8


ALLOWED_CALLBACKS = {
    InteractionType.APPLICATION_COMMAND: (4, 5),
    InteractionType.MESSAGE_COMPONENT: (4, 5, 6, 7),
    InteractionType.AUTOCOMPLETE: (8,),
}


@dataclass(eq=False)
class InteractionResult:
    """Everything the bot did with one interaction.

    ``original`` is the message of the initial response: the reply (type 4), the "thinking"
    message a deferral (type 5) created and later edits fill, or for a component interaction
    answered with type 6 or 7 the message that carries the component. ``rejections`` are the
    errors the sandbox answered the bot with for this interaction (late or double responses,
    invalid bodies). ``response_time`` is seconds from dispatch to the initial response.
    ``shards`` are the shards of the sessions that received it (those holding the guild).
    """

    id: int
    token: str
    type: InteractionType
    channel: Channel
    member: Member
    data: Json
    dispatched_at: float
    source: Message | None = None
    response_type: CallbackType | None = None
    response_time: float | None = None
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    original_edits: int = 0
    choices: list[Json] | None = None
    rejections: list[ApiError] = field(default_factory=list)
    shards: list[tuple[int, int]] = field(default_factory=list)
    """The ``(shard_id, shard_count)`` of each session INTERACTION_CREATE was delivered to."""
    _waiters: list[asyncio.Future[None]] = field(default_factory=list, repr=False)

    @property
    def responded(self) -> bool:
        """Whether an initial response was accepted."""
        return self.response_type is not None

    @property
    def content(self) -> str | None:
        """The original response's content."""
        return None if self.original is None else self.original.content

    @property
    def embeds(self) -> list[Json]:
        """The original response's embeds, as dicts."""
        return [] if self.original is None else self.original.embeds

    @property
    def components(self) -> list[Json]:
        """The original response's components, as dicts."""
        return [] if self.original is None else self.original.components

    @property
    def flags(self) -> int:
        """The original response's message flags."""
        return 0 if self.original is None else self.original.flags

    @property
    def ephemeral(self) -> bool:
        """Whether the original response is ephemeral (flag 64)."""
        return bool(self.flags & FLAG_EPHEMERAL)

    def changed(self) -> None:
        """Wake everything waiting on this result."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; TimeoutError if it does not ``within`` seconds."""
        async with asyncio.timeout(within):
            while not predicate():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter

    async def wait_for_followups(self, count: int = 1, within: float = 5.0) -> list[Message]:
        """Wait until the bot sent ``count`` followups; return all of them."""
        await self.wait_until(lambda: len(self.followups) >= count, within)
        return self.followups

    async def wait_for_original_edit(self, count: int = 1, within: float = 5.0) -> Message:
        """Wait until the original response was edited ``count`` times; return it."""
        await self.wait_until(lambda: self.original_edits >= count, within)
        assert self.original is not None
        return self.original

    async def wait_for_deferred(self, within: float = 5.0) -> Message:
        """Wait until a deferred response is filled (by an edit or the first followup)."""
        await self.wait_until(
            lambda: self.original is not None and not self.original.loading, within
        )
        assert self.original is not None
        return self.original


class Interactions:
    """Open interactions and the webhook routes that answer them."""

    def __init__(self, world: World, gateway: Gateway, config: SandboxConfig) -> None:
        self.world = world
        self.gateway = gateway
        self.config = config
        self._by_id: dict[int, InteractionResult] = {}
        self._by_token: dict[str, InteractionResult] = {}

    def open(
        self,
        kind: InteractionType,
        channel: Channel,
        member: Member,
        data: Json,
        source: Message | None = None,
    ) -> InteractionResult:
        """Dispatch INTERACTION_CREATE to the sessions holding the guild's shard and start the
        response deadline."""
        if not self.gateway.sessions:
            raise SandboxUsageError("the bot has no gateway session to receive interactions")
        if not any(session.holds(channel.guild.id) for session in self.gateway.sessions.values()):
            raise SandboxUsageError(
                f"no gateway session of the bot holds the shard of {channel.guild.name}"
            )
        if channel.id not in self.world.channels or channel.guild.bot_member is None:
            raise SandboxUsageError(f"the bot is not in #{channel.name}'s guild any more")
        if member.guild is not channel.guild:
            raise SandboxUsageError(f"{member.user.username} is not in #{channel.name}'s guild")
        result = InteractionResult(
            self.world.snowflakes.next(),
            secrets.token_urlsafe(48),
            kind,
            channel,
            member,
            data,
            self.config.clock(),
            source,
        )
        self._by_id[result.id] = self._by_token[result.token] = result
        reached = self.gateway.dispatch(
            "INTERACTION_CREATE", self._payload(result), guild=channel.guild.id
        )
        result.shards = [session.shard_key for session in reached]
        self.gateway.counters.interactions_by_shard.update(result.shards)
        return result

    def _payload(self, result: InteractionResult) -> Json:
        guild = result.channel.guild
        payload: Json = {
            "id": str(result.id),
            "application_id": str(self.world.application.id),
            "type": int(result.type),
            "data": result.data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(result.channel.id),
            "channel": result.channel.to_payload(),
            "member": result.member.to_payload(with_permissions=True),
            "token": result.token,
            "version": 1,
            "app_permissions": as_payload(result.channel.permissions_of_bot()),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if result.source is not None:
            payload["message"] = result.source.to_payload()
        return payload

    @contextlib.contextmanager
    def _recording(self, result: InteractionResult) -> Iterator[None]:
        """Record a refusal on the result, then let it reach the bot; wake waiters either way."""
        try:
            yield
        except ApiError as error:
            result.rejections.append(error)
            raise
        finally:
            result.changed()

    def respond(
        self, interaction_id: int, token: str, body: Mapping[str, Any], uploads: Sequence[Upload]
    ) -> Json:
        """``POST /interactions/{id}/{token}/callback``: the one initial response."""
        result = self._by_id.get(interaction_id)
        if result is None or result.token != token:
            raise unknown_interaction()
        with self._recording(result):
            if result.responded:
                raise already_acknowledged()
            if self.config.clock() - result.dispatched_at > self.config.interaction_deadline:
                raise unknown_interaction()
            kind = self._callback_type(result, body.get("type"))
            data: Mapping[str, Any] = body.get("data") or {}
            message = self._apply_callback(result, kind, data, uploads)
            result.response_type = kind
            result.response_time = self.config.clock() - result.dispatched_at
            result.original = message
        return {
            "interaction": {
                "id": str(result.id),
                "type": int(result.type),
                "activity_instance_id": None,
                "response_message_id": None if message is None else str(message.id),
                "response_message_loading": bool(message and message.loading),
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": {"type": int(kind)}
            | ({"message": message.to_payload()} if message else {}),
        }

    @staticmethod
    def _callback_type(result: InteractionResult, value: object) -> CallbackType:
        allowed = ALLOWED_CALLBACKS[result.type]
        if value not in allowed:
            errors = FormErrors()
            errors.add(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {set(allowed)}.")
            errors.raise_if_any()
        return CallbackType(int(value))  # type: ignore[call-overload]

    def _apply_callback(
        self,
        result: InteractionResult,
        kind: CallbackType,
        data: Mapping[str, Any],
        uploads: Sequence[Upload],
    ) -> Message | None:
        ephemeral = int(data.get("flags") or 0) & FLAG_EPHEMERAL
        if kind is CallbackType.CHANNEL_MESSAGE:
            validate_message(data, prefix=("data",), files=len(uploads))
            return self._create(result, data, uploads, ephemeral)
        if kind is CallbackType.DEFERRED_CHANNEL_MESSAGE:
            return self._create(result, {}, (), ephemeral | FLAG_LOADING)
        if kind is CallbackType.UPDATE_MESSAGE:
            assert result.source is not None
            validate_message(data, prefix=("data",), partial=True, files=len(uploads))
            self._edit(result.source, data, uploads)
            return result.source
        if kind is CallbackType.DEFERRED_UPDATE_MESSAGE:
            return result.source
        validate_choices(data)
        result.choices = list(data.get("choices") or [])
        return None

    def _create(
        self,
        result: InteractionResult,
        body: Mapping[str, Any],
        uploads: Sequence[Upload],
        flags: int,
    ) -> Message:
        if result.channel.id not in self.world.channels:
            raise unknown_channel()
        first = result.original is None
        command = result.type is InteractionType.APPLICATION_COMMAND
        metadata: Json = {
            "id": str(result.id),
            "type": int(result.type),
            "user": result.member.user.to_payload(),
            "authorizing_integration_owners": {"0": str(result.channel.guild.id)},
        }
        if result.source is not None:
            metadata["interacted_message_id"] = str(result.source.id)
        message = self.world.create_message(
            result.channel,
            body,
            uploads,
            flags=flags,
            type=MessageType.CHAT_INPUT_COMMAND if first and command else MessageType.DEFAULT,
            webhook_id=self.world.application.id,
            interaction_metadata=metadata,
        )
        self.gateway.message_created(message)
        return message

    def _edit(self, message: Message, body: Mapping[str, Any], uploads: Sequence[Upload]) -> None:
        filled = message.loading
        message.apply(body, uploads, self.world)
        message.flags &= ~FLAG_LOADING
        message.edited_at = now()
        if filled:
            self.world.message_sent(message)  # a deferred response notifies when it is filled
        self.gateway.message_updated(message)

    def _webhook(self, application_id: int, token: str) -> InteractionResult:
        result = self._by_token.get(token)
        if result is None or application_id != self.world.application.id:
            raise unknown_webhook()
        if self.config.clock() - result.dispatched_at > self.config.interaction_token_lifetime:
            raise invalid_webhook_token()
        if not result.responded or result.type is InteractionType.AUTOCOMPLETE:
            raise unknown_webhook()
        return result

    def _message(self, result: InteractionResult, reference: str) -> Message:
        for message in (result.original, *result.followups):
            if message is None or message.deleted:
                continue
            if str(message.id) == reference or (
                reference == "@original" and message is result.original
            ):
                return message
        raise unknown_message()

    def followup(
        self, application_id: int, token: str, body: Mapping[str, Any], uploads: Sequence[Upload]
    ) -> Message:
        """``POST /webhooks/{app}/{token}``: a followup message.

        After a deferral (type 5) the first followup fills the "thinking" message, keeping the
        deferral's ephemeral flag, as Discord does; if the bot deleted that message first, the
        followup is a new message with its own flags.
        """
        result = self._webhook(application_id, token)
        with self._recording(result):
            validate_message(body, files=len(uploads))
            original = result.original
            if result.response_type is CallbackType.DEFERRED_CHANNEL_MESSAGE and (
                original is not None
                and original.loading
                and not original.deleted
                and not result.followups
            ):
                self._edit(original, body, uploads)
                message = original
            else:
                flags = int(body.get("flags") or 0) & FLAG_EPHEMERAL
                message = self._create(result, body, uploads, flags)
            result.followups.append(message)
        return message

    def edit(
        self,
        application_id: int,
        token: str,
        reference: str,
        body: Mapping[str, Any],
        uploads: Sequence[Upload],
    ) -> Message:
        """``PATCH /webhooks/{app}/{token}/messages/{@original|id}``."""
        result = self._webhook(application_id, token)
        with self._recording(result):
            message = self._message(result, reference)
            validate_message(body, partial=True, files=len(uploads))
            self._edit(message, body, uploads)
            if message is result.original:
                result.original_edits += 1
        return message

    def fetch(self, application_id: int, token: str, reference: str) -> Message:
        """``GET /webhooks/{app}/{token}/messages/{@original|id}``."""
        return self._message(self._webhook(application_id, token), reference)

    def delete(self, application_id: int, token: str, reference: str) -> None:
        """``DELETE /webhooks/{app}/{token}/messages/{@original|id}``."""
        result = self._webhook(application_id, token)
        with self._recording(result):
            message = self._message(result, reference)
            self.world.delete_message(message)
            self.gateway.message_deleted(message)
