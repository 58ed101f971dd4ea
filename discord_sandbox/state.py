"""What the sandbox's Discord holds: the application, guilds, roles, channels, threads, members,
messages.

Plain dataclasses with one ``to_payload`` each, rendering the JSON Discord sends for them. The
:class:`World` owns every object, hands out snowflakes, and answers the one question every bot
route asks first: may the bot do this in that channel?
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from discord_sandbox import mentions
from discord_sandbox.counters import Counters
from discord_sandbox.errors import missing_access, missing_permissions, unknown_channel
from discord_sandbox.mentions import NOBODY, Mentions, MentionViolation
from discord_sandbox.permissions import Permission, as_payload, effective

Json = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15
FLAG_CROSSPOSTED = 1 << 0
SETTABLE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2


class ChannelType(enum.IntEnum):
    """Guild channel types the sandbox can create."""

    TEXT = 0
    VOICE = 2
    CATEGORY = 4
    ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    FORUM = 15


CHANNEL_FLAG_PINNED = 1 << 1
"""A forum post pinned to the top of its forum."""
CHANNEL_FLAG_REQUIRE_TAG = 1 << 4
"""A forum whose posts need at least one tag."""
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
"""Minutes of inactivity after which a thread archives itself (the values Discord accepts)."""


class MessageType(enum.IntEnum):
    """Message types the sandbox produces."""

    DEFAULT = 0
    CHAT_INPUT_COMMAND = 20


class Snowflakes:
    """Discord-style ids: milliseconds since 2015 shifted left 22 bits, strictly increasing."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """A new id, later than every id handed out before."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_millisecond(self) -> int:
        """A new id in a millisecond of its own (its low 22 bits zero), later than every id
        before. Guilds get these: their shard is ``(id >> 22) % shard_count``, so guilds created
        one after the other fall on consecutive shards instead of all on one."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, ((self._last >> 22) + 1) << 22)
        return self._last


def timestamp(moment: datetime) -> str:
    """ISO 8601 as Discord writes it."""
    return moment.isoformat()


def now() -> datetime:
    """The current UTC time (message timestamps are wall-clock, unlike deadlines)."""
    return datetime.now(UTC)


@dataclass(eq=False)
class User:
    """A Discord user (a person or the bot)."""

    id: int
    username: str
    bot: bool = False

    def to_payload(self) -> Json:
        """The user object."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": None if self.bot else self.username,
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
        }


@dataclass(eq=False)
class Role:
    """A guild role; ``@everyone`` shares the guild's id. Mentioning a role pings its members
    only when it is ``mentionable`` or the author has Mention Everyone."""

    id: int
    name: str
    permissions: int
    position: int = 0
    mentionable: bool = False

    def to_payload(self) -> Json:
        """The role object."""
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": as_payload(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass(eq=False)
class Member:
    """A user's membership of a guild."""

    user: User
    guild: Guild
    roles: list[Role] = field(default_factory=list)
    joined_at: datetime = field(default_factory=now)

    @property
    def id(self) -> int:
        """The user's id."""
        return self.user.id

    @property
    def permissions(self) -> int:
        """Guild-level permissions: owner and administrators get everything."""
        if self.user.id == self.guild.owner_id:
            return effective(Permission.ADMINISTRATOR)
        granted = self.guild.everyone.permissions
        for role in self.roles:
            granted |= role.permissions
        return effective(granted)

    def to_payload(self, *, with_permissions: bool = False) -> Json:
        """The guild member object (with ``permissions`` when it rides on an interaction)."""
        payload: Json = {
            "user": self.user.to_payload(),
            "roles": [str(role.id) for role in self.roles],
            "joined_at": timestamp(self.joined_at),
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_permissions:
            payload["permissions"] = as_payload(self.permissions)
        return payload


@dataclass
class ForumTag:
    """A tag a forum's posts can carry; a ``moderated`` one only members with Manage Threads
    may apply."""

    id: int
    name: str
    moderated: bool = False
    emoji_name: str | None = None

    def to_payload(self) -> Json:
        """The forum tag object."""
        return {
            "id": str(self.id),
            "name": self.name,
            "moderated": self.moderated,
            "emoji_id": None,
            "emoji_name": self.emoji_name,
        }


@dataclass
class ThreadMetadata:
    """A thread's ``thread_metadata``: archived and locked state, and when it archives."""

    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    archive_timestamp: datetime = field(default_factory=lambda: now())
    create_timestamp: datetime = field(default_factory=lambda: now())

    def to_payload(self) -> Json:
        """The thread metadata object."""
        return {
            "archived": self.archived,
            "locked": self.locked,
            "auto_archive_duration": self.auto_archive_duration,
            "archive_timestamp": timestamp(self.archive_timestamp),
            "create_timestamp": timestamp(self.create_timestamp),
            "invitable": True,
        }


@dataclass(eq=False)
class Channel:
    """A guild channel or a thread; ``bot_permissions`` overrides what the bot may do in it.

    A thread (``metadata`` set, types 10-12) has a ``parent`` (a text, announcement or forum
    channel) whose permissions it inherits, an ``owner_id``, and ``applied_tags`` when it is a
    forum post. A forum (type 15) has ``available_tags`` and ``flags`` (``REQUIRE_TAG``).
    ``crossposts`` are the messages published from an announcement channel, in order.
    """

    id: int
    guild: Guild
    name: str
    type: ChannelType = ChannelType.TEXT
    position: int = 0
    bot_permissions: int | None = None
    messages: list[Message] = field(default_factory=list)
    parent: Channel | None = None
    owner_id: int | None = None
    flags: int = 0
    available_tags: list[ForumTag] = field(default_factory=list)
    applied_tags: list[int] = field(default_factory=list)
    metadata: ThreadMetadata | None = None
    total_message_sent: int = 0
    crossposts: list[Message] = field(default_factory=list)

    @property
    def is_thread(self) -> bool:
        """A thread (or a forum post, which is a thread)."""
        return self.metadata is not None

    @property
    def archived(self) -> bool:
        """An archived thread."""
        return self.metadata is not None and self.metadata.archived

    @property
    def locked(self) -> bool:
        """A locked thread: only members with Manage Threads may post or unarchive it."""
        return self.metadata is not None and self.metadata.locked

    def tag(self, name: str) -> ForumTag:
        """The forum's tag called ``name``."""
        for tag in self.available_tags:
            if tag.name == name:
                return tag
        raise KeyError(name)

    def permissions_of_bot(self) -> int:
        """What the bot may do here: the channel override, else the guild-level permissions; a
        thread has its parent's."""
        if self.metadata is not None:
            return 0 if self.parent is None else self.parent.permissions_of_bot()
        member = self.guild.bot_member
        if member is None:
            return 0
        if self.bot_permissions is None or member.permissions & Permission.ADMINISTRATOR:
            return member.permissions
        return self.bot_permissions

    def to_payload(self) -> Json:
        """The channel object; the bot's override is a member permission overwrite."""
        if self.metadata is not None:
            return self._thread_payload(self.metadata)
        overwrites: list[Json] = []
        member = self.guild.bot_member
        if self.bot_permissions is not None and member is not None:
            allow = self.bot_permissions
            overwrites.append(
                {
                    "id": str(member.id),
                    "type": 1,
                    "allow": as_payload(allow),
                    "deny": as_payload(effective(Permission.ADMINISTRATOR) & ~allow),
                }
            )
        last = self.messages[-1].id if self.messages else None
        return {
            "id": str(self.id),
            "type": int(self.type),
            "guild_id": str(self.guild.id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": overwrites,
            "parent_id": None,
            "nsfw": False,
            "topic": None,
            "last_message_id": None if last is None else str(last),
            "rate_limit_per_user": 0,
            "flags": self.flags,
        } | (self._forum_fields() if self.type is ChannelType.FORUM else {})

    def _forum_fields(self) -> Json:
        posts = [thread for thread in self.guild.threads.values() if thread.parent is self]
        return {
            "last_message_id": str(posts[-1].id) if posts else None,
            "available_tags": [tag.to_payload() for tag in self.available_tags],
            "default_auto_archive_duration": 1440,
            "default_thread_rate_limit_per_user": 0,
            "default_reaction_emoji": None,
            "default_sort_order": None,
            "default_forum_layout": 0,
        }

    def _thread_payload(self, metadata: ThreadMetadata) -> Json:
        last = self.messages[-1].id if self.messages else None
        payload: Json = {
            "id": str(self.id),
            "type": int(self.type),
            "guild_id": str(self.guild.id),
            "name": self.name,
            "parent_id": None if self.parent is None else str(self.parent.id),
            "owner_id": str(self.owner_id),
            "last_message_id": None if last is None else str(last),
            "rate_limit_per_user": 0,
            "flags": self.flags,
            "message_count": sum(1 for message in self.messages if message.id != self.id),
            "member_count": 1,
            "total_message_sent": self.total_message_sent,
            "thread_metadata": metadata.to_payload(),
        }
        if self.parent is not None and self.parent.type is ChannelType.FORUM:
            payload["applied_tags"] = [str(tag) for tag in self.applied_tags]
        return payload


@dataclass(eq=False)
class Guild:
    """A guild with its roles, channels and members; ``bot_member`` is None once the bot left."""

    id: int
    name: str
    owner_id: int
    everyone: Role
    roles: list[Role] = field(default_factory=list)
    channels: dict[int, Channel] = field(default_factory=dict)
    threads: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    bot_member: Member | None = None
    system_channel_id: int | None = None

    def role(self, role_id: int) -> Role | None:
        """The guild's role with ``role_id`` (the guild's id is ``@everyone``)."""
        return next((role for role in [self.everyone, *self.roles] if role.id == role_id), None)

    def active_threads(self) -> list[Channel]:
        """Threads that are not archived and that the bot can see, oldest first."""
        return [
            thread
            for thread in self.threads.values()
            if not thread.archived and thread.permissions_of_bot() & Permission.VIEW_CHANNEL
        ]

    def to_payload(self) -> Json:
        """The GUILD_CREATE object: guild, roles, channels, active threads, and the members the
        bot sees.

        Without ``unavailable``, which marks the lazy loading after READY (discord.py then
        dispatches ``guild_available`` rather than ``guild_join``).
        """
        joined = self.bot_member.joined_at if self.bot_member else now()
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": (
                None if self.system_channel_id is None else str(self.system_channel_id)
            ),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "features": [],
            "max_members": 500_000,
            "roles": [role.to_payload() for role in [self.everyone, *self.roles]],
            "emojis": [],
            "stickers": [],
            "channels": [channel.to_payload() for channel in self.channels.values()],
            "members": [member.to_payload() for member in self.members.values()],
            "member_count": len(self.members),
            "large": False,
            "joined_at": timestamp(joined),
            "threads": [thread.to_payload() for thread in self.active_threads()],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


@dataclass(frozen=True)
class Upload:
    """A file sent as ``files[n]`` in a multipart request."""

    filename: str
    data: bytes
    content_type: str | None = None


@dataclass(eq=False)
class Message:
    """A message as a channel (or, for ephemeral ones, one user) sees it."""

    id: int
    channel: Channel
    author: User
    content: str = ""
    embeds: list[Json] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    attachments: list[Json] = field(default_factory=list)
    allowed_mentions: Json | None = None
    flags: int = 0
    type: MessageType = MessageType.DEFAULT
    created_at: datetime = field(default_factory=now)
    edited_at: datetime | None = None
    webhook_id: int | None = None
    interaction_metadata: Json | None = None
    deleted: bool = False
    pinged: Mentions = NOBODY
    """Who the message notified when it was sent: the users, roles and ``@everyone``/``@here``
    its content mentions, as far as its ``allowed_mentions``, the roles' ``mentionable`` flags and
    the author's Mention Everyone let them ping (see :mod:`discord_sandbox.mentions`)."""

    @property
    def ephemeral(self) -> bool:
        """Only the invoking user sees it; it is not in the channel's history."""
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred response still showing "is thinking…"."""
        return bool(self.flags & FLAG_LOADING)

    def buttons(self) -> list[Json]:
        """Every button (in v1 action rows or nested v2 layouts)."""
        return [item for item in _walk_components(self.components) if item.get("type") == 2]

    def custom_ids(self) -> list[str]:
        """The custom ids of the interactive components, in order."""
        return [
            str(item["custom_id"])
            for item in _walk_components(self.components)
            if "custom_id" in item
        ]

    def component(self, custom_id: str) -> Json | None:
        """The component with ``custom_id``, if the message has one."""
        for item in _walk_components(self.components):
            if item.get("custom_id") == custom_id:
                return item
        return None

    def apply(self, body: Mapping[str, Any], uploads: Sequence[Upload], world: World) -> None:
        """Take the fields a create or edit body provides; leave the others unchanged."""
        if "content" in body:
            self.content = str(body["content"] or "")
        if "embeds" in body:
            self.embeds = [{"type": "rich", **embed} for embed in body["embeds"] or []]
        if "components" in body:
            self.components = list(body["components"] or [])
        if "allowed_mentions" in body:
            self.allowed_mentions = body["allowed_mentions"]
        if "flags" in body:
            wanted = int(body["flags"] or 0) & SETTABLE_FLAGS
            self.flags = (self.flags & ~SETTABLE_FLAGS) | wanted
        if "attachments" in body:
            keep = {str(item.get("id")) for item in body["attachments"] or []}
            self.attachments = [item for item in self.attachments if item["id"] in keep]
        self.attachments += [world.attachment(upload) for upload in uploads]

    def to_payload(self) -> Json:
        """The message object."""
        payload: Json = {
            "id": str(self.id),
            "channel_id": str(self.channel.id),
            "guild_id": str(self.channel.guild.id),
            "author": self.author.to_payload(),
            "content": self.content,
            "timestamp": timestamp(self.created_at),
            "edited_timestamp": None if self.edited_at is None else timestamp(self.edited_at),
            "tts": False,
            "mention_everyone": self.pinged.everyone,
            "mentions": [
                member.user.to_payload()
                for user_id in sorted(self.pinged.users)
                if (member := self.channel.guild.members.get(user_id)) is not None
            ],
            "mention_roles": [str(role) for role in sorted(self.pinged.roles)],
            "attachments": self.attachments,
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": int(self.type),
            "flags": self.flags,
        }
        if self.webhook_id is not None:
            payload["webhook_id"] = str(self.webhook_id)
            payload["application_id"] = str(self.webhook_id)
        if self.interaction_metadata is not None:
            payload["interaction_metadata"] = self.interaction_metadata
        return payload


def _walk_components(components: Iterable[Json]) -> Iterable[Json]:
    for item in components:
        yield item
        yield from _walk_components(item.get("components") or [])
        if isinstance(item.get("accessory"), dict):
            yield item["accessory"]


@dataclass(eq=False)
class Application:
    """The bot's application; its id is also the bot user's id, as for every new app."""

    id: int
    name: str
    owner: User
    bot: User
    flags: int = 0

    def to_payload(self) -> Json:
        """The ``/oauth2/applications/@me`` object."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": self.owner.to_payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": self.flags,
            "bot": self.bot.to_payload(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
        }


class World:
    """Every object the sandbox's Discord knows, indexed by id."""

    def __init__(
        self,
        *,
        application_name: str,
        bot_name: str,
        app_flags: int = 0,
        counters: Counters | None = None,
    ) -> None:
        self.counters = counters or Counters()
        self.expected_pings = NOBODY
        """What tests declared the bot may ping (``Sandbox.expect_pings``)."""
        self.snowflakes = Snowflakes()
        bot_id = self.snowflakes.next()
        owner = User(self.snowflakes.next(), "app-owner")
        self.bot = User(bot_id, bot_name, bot=True)
        self.application = Application(bot_id, application_name, owner, self.bot, app_flags)
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.attachment_base = "https://cdn.sandbox.invalid/attachments"

    def create_guild(self, name: str, *, everyone: int, owner_name: str) -> Guild:
        """A guild with an owner member and the bot in it."""
        guild_id = self.snowflakes.next_millisecond()
        owner = User(self.snowflakes.next(), owner_name)
        guild = Guild(guild_id, name, owner.id, Role(guild_id, "@everyone", everyone))
        guild.members[owner.id] = Member(owner, guild)
        self.guilds[guild_id] = guild
        self.add_bot(guild)
        return guild

    def add_bot(self, guild: Guild) -> Member:
        """Put the bot (back) into ``guild``."""
        guild.bot_member = guild.members[self.bot.id] = Member(self.bot, guild)
        return guild.bot_member

    def remove_bot(self, guild: Guild) -> None:
        """Take the bot out of ``guild`` (kick, ban, or the guild deleted)."""
        guild.members.pop(self.bot.id, None)
        guild.bot_member = None

    def add_member(self, guild: Guild, name: str, permissions: int) -> Member:
        """A person in ``guild``; extra ``permissions`` come through a role of their own."""
        member = Member(User(self.snowflakes.next(), name), guild)
        if permissions:
            role = Role(self.snowflakes.next(), f"{name}-role", permissions, len(guild.roles) + 1)
            guild.roles.append(role)
            member.roles.append(role)
        guild.members[member.id] = member
        return member

    def create_role(
        self, guild: Guild, name: str, permissions: int, *, mentionable: bool = False
    ) -> Role:
        """A new role in ``guild``, above the others."""
        role = Role(self.snowflakes.next(), name, permissions, len(guild.roles) + 1, mentionable)
        guild.roles.append(role)
        return role

    def role_guild(self, role: Role) -> Guild:
        """The guild ``role`` belongs to."""
        for guild in self.guilds.values():
            if guild.role(role.id) is role:
                return guild
        raise KeyError(role.id)

    def create_channel(
        self, guild: Guild, name: str, kind: ChannelType, bot_permissions: int | None
    ) -> Channel:
        """A channel in ``guild`` (``bot_permissions`` None: the bot's guild permissions)."""
        channel = Channel(
            self.snowflakes.next(), guild, name, kind, len(guild.channels), bot_permissions
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def create_thread(
        self,
        parent: Channel,
        name: str,
        kind: ChannelType,
        *,
        owner: User,
        auto_archive_duration: int = 1440,
        applied_tags: Sequence[int] = (),
    ) -> Channel:
        """A new, active thread in ``parent`` (a forum post when ``parent`` is a forum)."""
        guild = parent.guild
        thread = Channel(
            self.snowflakes.next(),
            guild,
            name,
            kind,
            parent=parent,
            owner_id=owner.id,
            applied_tags=list(applied_tags),
            metadata=ThreadMetadata(auto_archive_duration=auto_archive_duration),
        )
        guild.threads[thread.id] = thread
        self.channels[thread.id] = thread
        return thread

    def threads_of(self, parent: Channel) -> list[Channel]:
        """The threads (or forum posts) of ``parent``, oldest first."""
        return [thread for thread in parent.guild.threads.values() if thread.parent is parent]

    def delete_channel(self, channel: Channel) -> list[Channel]:
        """Remove a channel (or thread), its threads and their messages; returns the threads."""
        threads = [] if channel.is_thread else self.threads_of(channel)
        for thread in threads:
            self.delete_channel(thread)
        channel.guild.channels.pop(channel.id, None)
        channel.guild.threads.pop(channel.id, None)
        self.channels.pop(channel.id, None)
        for message in channel.messages:
            self.messages.pop(message.id, None)
        return threads

    def delete_guild(self, guild: Guild) -> None:
        """Remove a guild and everything in it."""
        for channel in [*guild.threads.values(), *guild.channels.values()]:
            self.delete_channel(channel)
        self.guilds.pop(guild.id, None)
        self.remove_bot(guild)

    def bot_guilds(self) -> list[Guild]:
        """Guilds the bot is in, in creation order."""
        return [guild for guild in self.guilds.values() if guild.bot_member is not None]

    def bot_channel(self, channel_id: int, needs: Permission = Permission.NONE) -> Channel:
        """The channel, if the bot may use it as asked; raise Discord's error otherwise.

        Unknown channel: 404 10003. Bot not in the guild or without View Channel: 403 50001
        (Missing Access). Any other permission in ``needs`` missing: 403 50013.
        """
        channel = self.channels.get(channel_id)
        if channel is None:
            raise unknown_channel()
        granted = channel.permissions_of_bot()
        if not granted & Permission.VIEW_CHANNEL:
            raise missing_access()
        if needs & ~granted:
            raise missing_permissions()
        return channel

    def create_message(
        self,
        channel: Channel,
        body: Mapping[str, Any],
        uploads: Sequence[Upload] = (),
        *,
        flags: int = 0,
        type: MessageType = MessageType.DEFAULT,
        webhook_id: int | None = None,
        interaction_metadata: Json | None = None,
        author: User | None = None,
        message_id: int | None = None,
    ) -> Message:
        """A new message (by the bot unless ``author`` says otherwise); ephemeral ones are not
        added to the channel's history. Records whom it pinged (see :meth:`message_sent`)."""
        message = Message(
            self.snowflakes.next() if message_id is None else message_id,
            channel,
            author or self.bot,
            flags=flags,
            type=type,
            webhook_id=webhook_id,
            interaction_metadata=interaction_metadata,
        )
        message.apply(body, uploads, self)
        self.messages[message.id] = message
        if not message.ephemeral:
            channel.messages.append(message)
            channel.total_message_sent += 1
        self.message_sent(message)
        return message

    def permissions_in(self, channel: Channel, user: User) -> int:
        """What ``user`` may do in ``channel``: the bot's channel permissions, a person's
        guild-level ones."""
        if user is self.bot:
            return channel.permissions_of_bot()
        member = channel.guild.members.get(user.id)
        return 0 if member is None else member.permissions

    def message_sent(self, message: Message) -> None:
        """Work out whom a message just shown in its channel pinged, and record a violation if
        its body let anyone ping whom the test did not expect.

        Called when a message is created, and when a deferred ("thinking") response is filled,
        which is when Discord notifies. Ephemeral and still-loading messages ping nobody.
        """
        if message.ephemeral or message.loading:
            return
        guild = message.channel.guild
        everyone = guild.everyone.id
        known = Mentions(
            frozenset(guild.members), frozenset(role.id for role in guild.roles), everyone=True
        )
        asked = mentions.written(message.content, everyone) & known
        allowed = mentions.permitted(asked, message.allowed_mentions)
        granted = self.permissions_in(message.channel, message.author)
        may_all = bool(granted & Permission.MENTION_EVERYONE)
        message.pinged = mentions.pinged(
            allowed,
            members=guild.members,
            mentionable_roles=[role.id for role in guild.roles if role.mentionable or may_all],
            may_all=may_all,
        )
        unexpected = allowed - self.expected_pings
        if unexpected:
            self.counters.mention_violations.append(MentionViolation(message, unexpected))

    def delete_message(self, message: Message) -> None:
        """Remove a message."""
        message.deleted = True
        self.messages.pop(message.id, None)
        if message in message.channel.messages:
            message.channel.messages.remove(message)

    def attachment(self, upload: Upload) -> Json:
        """The attachment object for an uploaded file."""
        attachment_id = self.snowflakes.next()
        url = f"{self.attachment_base}/{attachment_id}/{upload.filename}"
        return {
            "id": str(attachment_id),
            "filename": upload.filename,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url,
            "content_type": upload.content_type,
        }


def new_token(application_id: int) -> str:
    """A bot token shaped like Discord's, random per sandbox (never a real secret)."""
    return f"{application_id}.sandbox.{secrets.token_urlsafe(24)}"
