"""The :class:`Sandbox`: a Discord-compatible server on loopback and the script that drives it.

Usage::

    async with Sandbox() as sandbox:
        guild = sandbox.create_guild("News")
        news = sandbox.create_channel(guild, "news")
        admin = sandbox.add_member(guild, "alice", permissions=Permission.MANAGE_GUILD)
        async with run_client(sandbox, bot):
            await bot.tree.sync(guild=discord.Object(guild.id))
            result = await sandbox.invoke("digest subscribe", member=admin, channel=news,
                                          options={"topic": "llm", "channel": news})
            assert result.ephemeral and "Subscribed" in (result.content or "")

Digest targets beyond text channels, and pings::

    forum = sandbox.create_forum(guild, "digests", tags=["llm", "chips"], require_tag=True)
    [post] = sandbox.forum_posts(forum)           # after the bot's POST /channels/{forum}/threads
    post.applied_tags == [forum.tag("llm").id]    # post.messages[0].id == post.id (the starter)
    thread = sandbox.create_thread(news, "weekly", archived=True)  # or locked=True
    sandbox.update_thread(thread, archived=False, locked=True)      # a moderator's THREAD_UPDATE
    announcements = sandbox.create_channel(guild, "announcements", type=ChannelType.ANNOUNCEMENT)
    sandbox.crossposts(announcements)             # the messages the bot published, in order
    fans = sandbox.create_role(guild, "llm-fans", mentionable=True)
    sandbox.give_role(guild.bot_member, sandbox.create_role(
        guild, "mods", permissions=Permission.MENTION_EVERYONE))  # or set_bot_permissions
    sandbox.expect_pings(fans)                    # the bot may ping this role; nothing else
    message.pinged == Mentions(roles=frozenset({fans.id}))        # who was notified
    sandbox.counters.mention_violations           # bodies that let more ping: fail the test

A test that provokes a violation on purpose asserts on ``counters.mention_violations`` and clears
it, since the ``sandbox`` fixture fails a test that leaves one.

Sharding, as on Discord (``SandboxConfig`` sets ``recommended_shards``, ``max_concurrency``,
``session_start_total``, ``max_guilds_per_shard`` and ``identify_window``)::

    guilds = [sandbox.create_guild(f"g{n}") for n in range(6)]  # consecutive guilds alternate
    sandbox.shard_of(guilds[0], 2)               # (guild_id >> 22) % 2
    first = discord.AutoShardedClient(intents=..., shard_count=2, shard_ids=[0])
    second = discord.AutoShardedClient(intents=..., shard_count=2, shard_ids=[1])
    async with run_client(sandbox, first), run_client(sandbox, second):
        [s.shard for s in sandbox.sessions()]    # [(0, 2), (1, 2)], with each one's guild_ids
        result = await sandbox.invoke(...)       # reaches only the session holding the guild
        result.shards                            # [(1, 2)]
    sandbox.counters.identifies_by_shard         # Counter({(0, 2): 1, (1, 2): 1})

Each session gets only its shard's guilds and their events (events of no guild: shard 0); an
IDENTIFY without ``shard`` is ``[0, 1]`` and gets everything. Two sessions of the same shard
both get its events; sessions of different shard counts may coexist. The global rate limit is
one per token, however many clients or processes share it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from types import TracebackType

from aiohttp import web

from discord_sandbox.commands import (
    CommandRegistry,
    OptionValue,
    build_command_data,
    check_member_may_use,
)
from discord_sandbox.config import SandboxConfig
from discord_sandbox.counters import Counters
from discord_sandbox.errors import SandboxUsageError
from discord_sandbox.faults import Faults
from discord_sandbox.gateway import Gateway, Intent, SessionInfo, shard_of
from discord_sandbox.interactions import InteractionResult, Interactions, InteractionType
from discord_sandbox.mentions import Mentions
from discord_sandbox.permissions import Permission
from discord_sandbox.ratelimit import RateLimiter
from discord_sandbox.server import API_PREFIX, GATEWAY_PATH, Api
from discord_sandbox.state import (
    ARCHIVE_DURATIONS,
    CHANNEL_FLAG_REQUIRE_TAG,
    Application,
    Channel,
    ChannelType,
    ForumTag,
    Guild,
    Json,
    Member,
    Message,
    Role,
    User,
    World,
    new_token,
    now,
)

BUTTON = 2
#: GUILD_CREATE fields a GUILD_UPDATE does not carry.
GUILD_CREATE_ONLY = frozenset(
    {
        "channels",
        "members",
        "member_count",
        "large",
        "joined_at",
        "threads",
        "presences",
        "voice_states",
        "stage_instances",
        "guild_scheduled_events",
        "soundboard_sounds",
    }
)


class Sandbox:
    """A Discord-compatible server (REST v10 + Gateway v10) on 127.0.0.1 and a random port.

    Point discord.py at :attr:`api_base` and :attr:`gateway_url` (``run_client`` does) and log
    in with :attr:`token`. Build the world with ``create_*``; act as users with :meth:`invoke`,
    :meth:`autocomplete` and :meth:`click`; read what the bot did with :meth:`channel_messages`,
    :meth:`forum_posts`, :meth:`threads`, :meth:`crossposts`, :meth:`pinged`,
    :meth:`registered_commands` and :attr:`counters`; declare the pings the bot may send with
    :meth:`expect_pings`; break things with :attr:`faults`
    (latency, errors before or after a request takes effect, requests held at the edge),
    :meth:`drop_gateway` and :meth:`invalidate_session`. Sharded bots: :meth:`shard_of` says
    which shard holds a guild, :meth:`sessions` lists the gateway sessions with their shard,
    ``InteractionResult.shards`` where an interaction went, and ``counters`` the sessions
    started and interactions delivered per shard.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.counters = Counters()
        self.world = World(
            application_name=self.config.application_name,
            bot_name=self.config.bot_name,
            app_flags=self.config.application_flags,
            counters=self.counters,
        )
        self.token = new_token(self.world.application.id)
        self.faults = Faults()
        self.gateway = Gateway(self.world, self.token, self.config, self.counters)
        self.commands = CommandRegistry(self.world.application.id, self.world.snowflakes)
        self.interactions = Interactions(self.world, self.gateway, self.config)
        self._api = Api(
            world=self.world,
            commands=self.commands,
            interactions=self.interactions,
            gateway=self.gateway,
            limiter=RateLimiter(self.config.rate_limits, self.config.clock),
            faults=self.faults,
            counters=self.counters,
            token=self.token,
            clock=self.config.clock,
        )
        self._runner: web.AppRunner | None = None
        self.api_base = ""
        self.gateway_url = ""

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port."""
        runner = web.AppRunner(self._api.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.config.host, 0).start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.api_base = f"http://{host}:{port}{API_PREFIX}"
        self.gateway_url = self.gateway.url = f"ws://{host}:{port}{GATEWAY_PATH}"

    async def stop(self) -> None:
        """Close gateway connections and stop listening."""
        if self._runner is None:
            return
        await self.gateway.close()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def application(self) -> Application:
        """The bot's application (its id is the bot user's id)."""
        return self.world.application

    @property
    def bot_user(self) -> User:
        """The bot user."""
        return self.world.bot

    # -- building the world --------------------------------------------------------------

    def create_guild(
        self,
        name: str = "Sandbox",
        *,
        everyone_permissions: int = Permission.everyone_default(),
        owner_name: str = "owner",
    ) -> Guild:
        """A guild with an owner member and the bot in it (GUILD_CREATE if connected)."""
        guild = self.world.create_guild(name, everyone=everyone_permissions, owner_name=owner_name)
        self.gateway.dispatch("GUILD_CREATE", guild.to_payload(), Intent.GUILDS, guild=guild.id)
        return guild

    def create_channel(
        self,
        guild: Guild,
        name: str,
        *,
        bot_permissions: int | None = None,
        type: ChannelType = ChannelType.TEXT,
    ) -> Channel:
        """A channel; ``bot_permissions`` (e.g. ``Permission.VIEW_CHANNEL``) replaces what the
        bot may do in it, None keeps the bot's guild permissions."""
        channel = self.world.create_channel(guild, name, type, bot_permissions)
        self.gateway.dispatch("CHANNEL_CREATE", channel.to_payload(), Intent.GUILDS, guild=guild.id)
        return channel

    def set_bot_permissions(self, channel: Channel, permissions: int | None) -> None:
        """Change what the bot may do in ``channel`` (CHANNEL_UPDATE)."""
        channel.bot_permissions = permissions
        self.gateway.dispatch(
            "CHANNEL_UPDATE", channel.to_payload(), Intent.GUILDS, guild=channel.guild.id
        )

    def add_member(self, guild: Guild, name: str, *, permissions: int = Permission.NONE) -> Member:
        """A person in ``guild`` with ``@everyone``'s permissions plus ``permissions``."""
        return self.world.add_member(guild, name, permissions)

    def delete_channel(self, channel: Channel) -> None:
        """Delete a channel (CHANNEL_DELETE) with its threads, or a thread (THREAD_DELETE); the
        bot's requests to it then get 404 10003."""
        if channel.is_thread:
            self.world.delete_channel(channel)
            self.gateway.thread_deleted(channel)
            return
        payload = channel.to_payload()
        self.world.delete_channel(channel)
        self.gateway.dispatch("CHANNEL_DELETE", payload, Intent.GUILDS, guild=channel.guild.id)

    def create_forum(
        self,
        guild: Guild,
        name: str,
        *,
        tags: Sequence[str | ForumTag] = (),
        require_tag: bool = False,
        bot_permissions: int | None = None,
    ) -> Channel:
        """A forum channel (type 15) with ``tags`` (names, or ``ForumTag(0, name,
        moderated=True)`` for a tag only Manage Threads may apply; ids are assigned) and, with
        ``require_tag``, the REQUIRE_TAG flag: posts without a tag are refused (400 40067).
        Look a tag up with ``forum.tag(name)``."""
        forum = self.world.create_channel(guild, name, ChannelType.FORUM, bot_permissions)
        for tag in tags:
            spec = ForumTag(0, tag) if isinstance(tag, str) else tag
            spec.id = self.world.snowflakes.next()
            forum.available_tags.append(spec)
        forum.flags = CHANNEL_FLAG_REQUIRE_TAG if require_tag else 0
        self.gateway.dispatch("CHANNEL_CREATE", forum.to_payload(), Intent.GUILDS, guild=guild.id)
        return forum

    def create_thread(
        self,
        channel: Channel,
        name: str,
        *,
        archived: bool = False,
        locked: bool = False,
        private: bool = False,
        tags: Sequence[str] = (),
        starter: str | None = None,
        auto_archive_duration: int = 1440,
    ) -> Channel:
        """A thread in ``channel`` started by the guild's owner: a public thread (``private``: a
        private one) in a text channel, an announcement thread in an announcement channel, a
        post (with ``tags``, by name) in a forum. ``starter`` is the text of its first message,
        whose id is the thread's (a forum post always has one). THREAD_CREATE, then
        THREAD_UPDATE when it starts ``archived`` or ``locked``."""
        if auto_archive_duration not in ARCHIVE_DURATIONS:
            raise SandboxUsageError(f"auto_archive_duration must be one of {ARCHIVE_DURATIONS}")
        if channel.type is ChannelType.FORUM:
            kind = ChannelType.PUBLIC_THREAD
            starter = name if starter is None else starter
        elif channel.type is ChannelType.ANNOUNCEMENT:
            kind = ChannelType.ANNOUNCEMENT_THREAD
        elif channel.type is ChannelType.TEXT:
            kind = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
        else:
            raise SandboxUsageError(f"#{channel.name} cannot have threads")
        owner = channel.guild.members[channel.guild.owner_id].user
        thread = self.world.create_thread(
            channel,
            name,
            kind,
            owner=owner,
            auto_archive_duration=auto_archive_duration,
            applied_tags=[channel.tag(tag).id for tag in tags],
        )
        self.gateway.thread_created(thread)
        if starter is not None:
            message = self.world.create_message(
                thread, {"content": starter}, author=owner, message_id=thread.id
            )
            self.gateway.message_created(message)
        if archived or locked:
            self.update_thread(thread, archived=archived, locked=locked)
        return thread

    def update_thread(
        self, thread: Channel, *, archived: bool | None = None, locked: bool | None = None
    ) -> None:
        """Archive or unarchive, lock or unlock a thread, as a moderator would (THREAD_UPDATE)."""
        metadata = thread.metadata
        if metadata is None:
            raise SandboxUsageError(f"#{thread.name} is not a thread")
        if archived is not None and archived != metadata.archived:
            metadata.archived = archived
            metadata.archive_timestamp = now()
        if locked is not None:
            metadata.locked = locked
        self.gateway.thread_updated(thread)

    def create_role(
        self,
        guild: Guild,
        name: str,
        *,
        permissions: int = Permission.NONE,
        mentionable: bool = False,
    ) -> Role:
        """A role (GUILD_ROLE_CREATE); mentioning it pings only when it is ``mentionable`` or
        the author has Mention Everyone in the channel."""
        role = self.world.create_role(guild, name, permissions, mentionable=mentionable)
        data = {"guild_id": str(guild.id), "role": role.to_payload()}
        self.gateway.dispatch("GUILD_ROLE_CREATE", data, Intent.GUILDS, guild=guild.id)
        return role

    def set_role_mentionable(self, role: Role, mentionable: bool) -> None:
        """Let anyone ping ``role`` (or not), as in Server Settings > Roles (GUILD_ROLE_UPDATE)."""
        role.mentionable = mentionable
        guild = self.world.role_guild(role)
        data = {"guild_id": str(guild.id), "role": role.to_payload()}
        self.gateway.dispatch("GUILD_ROLE_UPDATE", data, Intent.GUILDS, guild=guild.id)

    def give_role(self, member: Member, role: Role) -> None:
        """Give ``member`` (a person, or ``guild.bot_member``: the bot's permissions then grow
        by the role's) a role (GUILD_MEMBER_UPDATE; for the bot itself whatever its intents)."""
        if self.world.role_guild(role) is not member.guild:
            raise SandboxUsageError(f"{role.name} is not a role of {member.guild.name}")
        if role not in member.roles:
            member.roles.append(role)
        data = member.to_payload() | {"guild_id": str(member.guild.id)}
        intent = None if member.user is self.world.bot else Intent.GUILD_MEMBERS
        self.gateway.dispatch("GUILD_MEMBER_UPDATE", data, intent, guild=member.guild.id)

    def expect_pings(self, *targets: Role | Member | User, everyone: bool = False) -> None:
        """Declare what the bot may ping from now on: these roles and users, and with
        ``everyone`` ``@everyone``/``@here``. Any message whose body lets anything else ping
        is a violation (``counters.mention_violations``), which fails the test."""
        roles = frozenset(target.id for target in targets if isinstance(target, Role))
        users = frozenset(target.id for target in targets if not isinstance(target, Role))
        self.world.expected_pings |= Mentions(users, roles, everyone)

    def delete_guild(self, guild: Guild) -> None:
        """Delete a guild (GUILD_DELETE without ``unavailable``: the bot is out of it)."""
        self.world.delete_guild(guild)
        self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)}, Intent.GUILDS, guild=guild.id)

    def set_system_channel(self, guild: Guild, channel: Channel | None) -> None:
        """Make ``channel`` the guild's system channel (None: no system channel), GUILD_UPDATE."""
        guild.system_channel_id = None if channel is None else channel.id
        update = {k: v for k, v in guild.to_payload().items() if k not in GUILD_CREATE_ONLY}
        self.gateway.dispatch("GUILD_UPDATE", update, Intent.GUILDS, guild=guild.id)

    def remove_bot(self, guild: Guild) -> None:
        """Kick the bot from a guild (GUILD_DELETE); its channels then answer 403 50001."""
        self.world.remove_bot(guild)
        self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)}, Intent.GUILDS, guild=guild.id)

    def add_bot(self, guild: Guild) -> None:
        """Invite the bot back into a guild (GUILD_CREATE)."""
        self.world.add_bot(guild)
        self.gateway.dispatch("GUILD_CREATE", guild.to_payload(), Intent.GUILDS, guild=guild.id)

    def allow_command(self, guild: Guild, command: str, member: Member) -> None:
        """Model a server admin overriding ``/command``'s default member permissions for
        ``member`` (Server Settings > Integrations): the member may then invoke it. The
        interaction still carries the member's own permissions, as on Discord."""
        self.commands.allow(guild.id, command.split()[0], member.id)

    # -- acting as users -----------------------------------------------------------------

    async def invoke(
        self,
        command: str,
        *,
        member: Member,
        channel: Channel,
        options: Mapping[str, OptionValue] | None = None,
        response_wait: float | None = None,
    ) -> InteractionResult:
        """Run ``/command [group] [subcommand]`` as ``member`` in ``channel``.

        ``command`` is the path as typed, e.g. ``"digest subscribe"``; ``options`` maps option
        names to values (a :class:`Channel` for channel options). Returns once the bot's initial
        response is in (or refused), or after the response deadline; await the result's
        ``wait_for_*`` methods for deferred work. Raises :class:`SandboxUsageError` for what a
        Discord user could not send (unsynced command or option, value out of range, missing
        default permissions). ``response_wait`` bounds the wait for the initial response
        (default: the interaction deadline).
        """
        data = self._command_data(command, member, channel, options or {}, None)
        return await self._interact(
            InteractionType.APPLICATION_COMMAND, channel, member, data, None, response_wait
        )

    async def autocomplete(
        self,
        command: str,
        *,
        focused: str,
        value: str,
        member: Member,
        channel: Channel,
        options: Mapping[str, OptionValue] | None = None,
        response_wait: float | None = None,
    ) -> InteractionResult:
        """Type ``value`` into option ``focused`` of ``command``; the choices are on
        ``result.choices``."""
        typed = {**(options or {}), focused: value}
        data = self._command_data(command, member, channel, typed, focused)
        return await self._interact(
            InteractionType.AUTOCOMPLETE, channel, member, data, None, response_wait
        )

    async def click(
        self,
        message: Message,
        custom_id: str,
        *,
        member: Member,
        response_wait: float | None = None,
    ) -> InteractionResult:
        """Click the button ``custom_id`` on ``message`` as ``member``."""
        button = message.component(custom_id)
        if button is None or button.get("type") != BUTTON:
            raise SandboxUsageError(f"no button {custom_id!r} on message {message.id}")
        if button.get("disabled") or message.deleted:
            raise SandboxUsageError(f"button {custom_id!r} cannot be clicked")
        data: Json = {"custom_id": custom_id, "component_type": BUTTON}
        return await self._interact(
            InteractionType.MESSAGE_COMPONENT, message.channel, member, data, message, response_wait
        )

    def _command_data(
        self,
        command: str,
        member: Member,
        channel: Channel,
        options: Mapping[str, OptionValue],
        focused: str | None,
    ) -> Json:
        name, *path = command.split()
        registered = self.commands.find(name, channel.guild.id)
        if not self.commands.allowed_by_override(channel.guild.id, name, member.id):
            check_member_may_use(registered, member)
        return build_command_data(registered, path, options, member, focused=focused)

    async def _interact(
        self,
        kind: InteractionType,
        channel: Channel,
        member: Member,
        data: Json,
        source: Message | None,
        response_wait: float | None,
    ) -> InteractionResult:
        result = self.interactions.open(kind, channel, member, data, source)
        wait = self.config.interaction_deadline if response_wait is None else response_wait
        with contextlib.suppress(TimeoutError):
            await result.wait_until(lambda: result.responded or bool(result.rejections), wait)
        return result

    # -- reading what the bot did --------------------------------------------------------

    def channel_messages(self, channel: Channel) -> list[Message]:
        """What the channel (or thread) shows, oldest first (ephemeral messages are not in it)."""
        return list(channel.messages)

    def threads(self, channel: Channel) -> list[Channel]:
        """The threads of ``channel``, archived ones included, oldest first."""
        return self.world.threads_of(channel)

    def forum_posts(self, forum: Channel) -> list[Channel]:
        """The posts in a forum, oldest first: each a thread whose ``applied_tags`` are tag ids,
        whose first message (same id) is the starter and whose ``messages`` are the post's."""
        if forum.type is not ChannelType.FORUM:
            raise SandboxUsageError(f"#{forum.name} is not a forum")
        return self.world.threads_of(forum)

    def crossposts(self, channel: Channel) -> list[Message]:
        """The messages published from an announcement channel, in the order published."""
        return list(channel.crossposts)

    def pinged(self) -> list[Message]:
        """Every message that pinged anyone (see ``Message.pinged``), oldest first."""
        messages = self.world.messages.values()
        return sorted((m for m in messages if m.pinged), key=lambda message: message.id)

    def registered_commands(self, guild: Guild | None = None) -> list[Json]:
        """The commands synced globally (``guild`` None) or to ``guild``."""
        return self.commands.commands(None if guild is None else guild.id)

    def sync_count(self, guild: Guild | None = None) -> int:
        """How many times the bot synced commands globally or to ``guild``."""
        return self.commands.syncs[None if guild is None else guild.id]

    # -- sharding ------------------------------------------------------------------------

    @staticmethod
    def shard_of(guild: Guild | int, shard_count: int) -> int:
        """The shard holding ``guild`` when the bot runs ``shard_count`` shards:
        ``(guild_id >> 22) % shard_count``, as on Discord."""
        return shard_of(guild if isinstance(guild, int) else guild.id, shard_count)

    def sessions(self) -> list[SessionInfo]:
        """The bot's gateway sessions, oldest first, live or waiting for a RESUME: each with
        its ``shard_id``, ``shard_count``, whether a connection reads it (``connected``) and the
        ``guild_ids`` its shard holds."""
        return self.gateway.session_infos()

    # -- gateway faults ------------------------------------------------------------------

    async def drop_gateway(self, *, forget_session: bool = False) -> None:
        """Cut the bot's gateway connections (every shard's); it resumes (or, with
        ``forget_session``, is told its session is invalid and identifies again)."""
        await self.gateway.drop(forget_session=forget_session)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 (invalid session) on every live connection (every shard's)."""
        await self.gateway.invalidate(resumable=resumable)
