"""Discord's rate limits: a global budget per bot token, fixed-window route buckets, and the
hourly publish limit of announcement channels.

:meth:`RateLimiter.check` decides one request: it either spends from the buckets and returns
the ``X-RateLimit-*`` headers to send, or returns a 429 verdict shaped like Discord's.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from discord_sandbox.config import Clock, RateLimits

CHANNEL_MESSAGES_ROUTE = "POST /channels/{channel_id}/messages"
CROSSPOST_ROUTE = "POST /channels/{channel_id}/messages/{message_id}/crosspost"


class Bucket:
    """``limit`` requests per ``window`` seconds, refilled all at once when the window ends."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self.remaining = limit
        self.resets_at = 0.0

    def reset_after(self) -> float:
        """Seconds until the bucket refills."""
        return max(0.0, self.resets_at - self._clock())

    def take(self) -> bool:
        """Spend one request if any is left in this window."""
        moment = self._clock()
        if moment >= self.resets_at:
            self.remaining = self.limit
            self.resets_at = moment + self.window
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass(frozen=True)
class Verdict:
    """The outcome for one request: headers to send, and ``retry_after`` when it is a 429."""

    headers: dict[str, str]
    retry_after: float | None = None
    is_global: bool = False

    def body(self) -> dict[str, object]:
        """The 429 JSON body."""
        return {
            "message": "You are being rate limited.",
            "retry_after": self.retry_after,
            "global": self.is_global,
        }


class RateLimiter:
    """All buckets of one sandbox.

    The global budget is keyed by the bot token alone, never by connection or client: every
    client of the token (each shard, each process, all reaching the one REST server) spends from
    the same 50 per second, as on Discord, while discord.py's own limiter sees one process only.
    """

    def __init__(self, limits: RateLimits, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._global: dict[str, Bucket] = {}
        self._routes: dict[tuple[str, str], Bucket] = {}
        self._publishes: dict[str, Bucket] = {}

    def check(self, route: str, major: str, token: str | None) -> Verdict:
        """Spend for ``route`` (``"METHOD /template"``) on ``major``; ``token`` None is exempt."""
        if token is not None:
            budget = self._global.get(token)
            if budget is None:
                limits = self.limits
                budget = Bucket(limits.global_limit, limits.global_window, self._clock)
                self._global[token] = budget
            if not budget.take():
                retry = round(budget.reset_after(), 3)
                headers = {
                    "Retry-After": str(math.ceil(retry)),
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    "Via": "1.1 google",
                }
                return Verdict(headers, retry, is_global=True)
        bucket = self._route_bucket(route, major)
        allowed = bucket.take()
        reset_after = round(bucket.reset_after(), 3)
        headers = {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(bucket.remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(route),
        }
        if allowed and route == CROSSPOST_ROUTE:
            return self._publish(major, headers)
        if allowed:
            return Verdict(headers)
        headers |= {
            "Retry-After": str(math.ceil(reset_after)),
            "X-RateLimit-Scope": "user",
            "Via": "1.1 google",
        }
        return Verdict(headers, reset_after)

    def _publish(self, channel: str, headers: dict[str, str]) -> Verdict:
        """The publish limit of one announcement channel (``crosspost_*``, Discord: 10 an hour).

        Discord does not show it in the route's headers (those are the route's ordinary bucket,
        with requests remaining): past it, the answer is a 429 with ``X-RateLimit-Scope: shared``
        and the real wait only in the body's ``retry_after`` (discord.py then sleeps that long
        and retries, or raises ``RateLimited`` past ``max_ratelimit_timeout``).
        """
        budget = self._publishes.get(channel)
        if budget is None:
            limits = self.limits
            budget = Bucket(limits.crosspost_limit, limits.crosspost_window, self._clock)
            self._publishes[channel] = budget
        if budget.take():
            return Verdict(headers)
        retry = round(budget.reset_after(), 3)
        shared = {"Retry-After": str(math.ceil(retry)), "X-RateLimit-Scope": "shared"}
        return Verdict(headers | shared | {"Via": "1.1 google"}, retry)

    def _route_bucket(self, route: str, major: str) -> Bucket:
        key = (route, major)
        bucket = self._routes.get(key)
        if bucket is None:
            limits = self.limits
            if route == CHANNEL_MESSAGES_ROUTE:
                size = (limits.channel_messages_limit, limits.channel_messages_window)
            else:
                size = (limits.route_limit, limits.route_window)
            bucket = self._routes[key] = Bucket(*size, self._clock)
        return bucket


def bucket_hash(route: str) -> str:
    """An opaque, stable bucket id per route, like Discord's ``X-RateLimit-Bucket``."""
    return hashlib.blake2b(route.encode(), digest_size=8).hexdigest()
