"""Settings of one sandbox instance: Discord's real numbers by default, shrinkable for tests."""

from __future__ import annotations

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


PRIVILEGED_INTENTS = {1 << 1: 1 << 15, 1 << 8: 1 << 13, 1 << 15: 1 << 19}
"""Privileged gateway intent -> the application flag that enables it (members, presences,
message content; the ``*_LIMITED`` flags an unverified bot gets)."""


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox behaves.

    ``privileged_intents`` are the privileged intents switched on for the application (as in the
    developer portal); identifying with any other privileged intent closes the gateway with 4014.
    """

    host: str = "127.0.0.1"
    application_name: str = "AI News"
    bot_name: str = "ainews"
    interaction_deadline: float = 3.0
    interaction_token_lifetime: float = 15 * 60.0
    heartbeat_interval: float = 41.25
    rate_limits: RateLimits = field(default_factory=RateLimits)
    privileged_intents: int = 0
    clock: Clock = time.monotonic

    @property
    def application_flags(self) -> int:
        """The application flags matching ``privileged_intents``."""
        flags = 0
        for intent, flag in PRIVILEGED_INTENTS.items():
            if self.privileged_intents & intent:
                flags |= flag
        return flags
