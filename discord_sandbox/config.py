"""Settings of one sandbox instance: Discord's real numbers by default, shrinkable for tests."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
"""Monotonic seconds; rate-limit buckets and interaction deadlines read time through it."""


@dataclass(frozen=True)
class RateLimits:
    """Request budgets, each ``limit`` requests per ``window`` seconds.

    ``global_*`` is per bot token (interaction endpoints are exempt); ``channel_messages_*`` is
    the bucket for posting in one channel; ``crosspost_*`` the publishes from one announcement
    channel (Discord: 10 an hour, a limit its headers do not show); ``route_*`` is every other
    route, per route and major parameter (channel, guild, webhook or interaction).
    """

    global_limit: int = 50
    global_window: float = 1.0
    channel_messages_limit: int = 5
    channel_messages_window: float = 5.0
    crosspost_limit: int = 10
    crosspost_window: float = 3600.0
    route_limit: int = 50
    route_window: float = 1.0


GUILDS_PER_RECOMMENDED_SHARD = 1000
"""Discord recommends about one shard per 1,000 guilds."""

SESSION_START_RESET = 24 * 3600.0
"""Seconds after the first session start of a period before ``remaining`` is back to ``total``."""

PRIVILEGED_INTENTS = {1 << 1: 1 << 15, 1 << 8: 1 << 13, 1 << 15: 1 << 19}
"""Privileged gateway intent -> the application flag that enables it (members, presences,
message content; the ``*_LIMITED`` flags an unverified bot gets)."""


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox behaves.

    ``privileged_intents`` are the privileged intents switched on for the application (as in the
    developer portal); identifying with any other privileged intent closes the gateway with 4014.

    Sharding, as ``GET /gateway/bot`` and the gateway show it: ``recommended_shards`` is the
    ``shards`` answered (None: one per 1,000 guilds, at least 1, see :meth:`shards_for`);
    ``max_concurrency`` IDENTIFYs may start per ``identify_window`` seconds (Discord: 5 s), one
    per bucket ``shard_id % max_concurrency``, an extra one is answered with op 9;
    ``session_start_total`` sessions may start per 24 hours of ``clock``; a shard that would hold
    more than ``max_guilds_per_shard`` guilds is closed with 4011.
    """

    host: str = "127.0.0.1"
    application_name: str = "AI News"
    bot_name: str = "ainews"
    interaction_deadline: float = 3.0
    interaction_token_lifetime: float = 15 * 60.0
    heartbeat_interval: float = 41.25
    rate_limits: RateLimits = field(default_factory=RateLimits)
    privileged_intents: int = 0
    recommended_shards: int | None = None
    max_concurrency: int = 1
    session_start_total: int = 1000
    max_guilds_per_shard: int = 2500
    identify_window: float = 5.0
    clock: Clock = time.monotonic

    def shards_for(self, guilds: int) -> int:
        """The shard count ``GET /gateway/bot`` recommends for a bot in ``guilds`` guilds."""
        if self.recommended_shards is not None:
            return self.recommended_shards
        return max(1, math.ceil(guilds / GUILDS_PER_RECOMMENDED_SHARD))

    @property
    def application_flags(self) -> int:
        """The application flags matching ``privileged_intents``."""
        flags = 0
        for intent, flag in PRIVILEGED_INTENTS.items():
            if self.privileged_intents & intent:
                flags |= flag
        return flags
