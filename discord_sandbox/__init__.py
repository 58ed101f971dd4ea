"""A Discord-compatible server on loopback that the unmodified discord.py client logs into.

It serves REST v10 and Gateway v10 on 127.0.0.1 with Discord's limits, rate limits,
permissions and interaction deadlines, and a Python API to script users: see
:class:`~discord_sandbox.sandbox.Sandbox`. It knows nothing of the bot it hosts: the tests
(through the ``discord_sandbox`` pytest plugin) and the offline demo bring the bot.

Beyond text channels it models announcement channels (publishing, 10 an hour per channel),
forum channels (posts with a starter message, tags, REQUIRE_TAG), threads (archived, locked,
Manage Threads), roles (``mentionable``, Mention Everyone) and who each message pings: a message
whose ``allowed_mentions`` would let it ping more than the test declared with
``Sandbox.expect_pings`` is a violation that fails the test (see ``mentions``).

Sharded bots connect as on Discord: ``GET /gateway/bot`` recommends a shard count and shows the
session start limit, each ``[shard_id, shard_count]`` session gets only its guilds and their
events and interactions, IDENTIFYs are paced per ``max_concurrency`` bucket, and a shard over
2,500 guilds is closed with 4011 (see ``gateway``).

Modules: ``sandbox`` (the scripting API), ``server`` (REST routes and the request edge),
``gateway`` (websocket sessions), ``interactions`` (callbacks, followups, results),
``commands`` (registered commands, building invocations), ``state`` (guilds, roles, channels,
threads, members, messages), ``mentions`` (who a message pings), ``validation`` (message and
command limits), ``ratelimit``, ``permissions``, ``errors``, ``faults``, ``counters``,
``config``, ``run_client`` and ``pytest_plugin``.
"""

from discord_sandbox.config import RateLimits, SandboxConfig
from discord_sandbox.errors import ApiError, SandboxUsageError
from discord_sandbox.gateway import SessionInfo
from discord_sandbox.interactions import CallbackType, InteractionResult, InteractionType
from discord_sandbox.mentions import Mentions, MentionViolation
from discord_sandbox.permissions import Permission
from discord_sandbox.run_client import run_client
from discord_sandbox.sandbox import Sandbox
from discord_sandbox.state import (
    Channel,
    ChannelType,
    ForumTag,
    Guild,
    Member,
    Message,
    Role,
    ThreadMetadata,
    User,
)

__all__ = [
    "ApiError",
    "CallbackType",
    "Channel",
    "ChannelType",
    "ForumTag",
    "Guild",
    "InteractionResult",
    "InteractionType",
    "Member",
    "MentionViolation",
    "Mentions",
    "Message",
    "Permission",
    "RateLimits",
    "Role",
    "Sandbox",
    "SandboxConfig",
    "SandboxUsageError",
    "SessionInfo",
    "ThreadMetadata",
    "User",
    "run_client",
]
