"""What the sandbox counted: requests per route, rate-limit hits, invalid requests, sessions,
and per shard the sessions started and the interactions delivered."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from discord_sandbox.mentions import MentionViolation

_log = logging.getLogger(__name__)

INVALID_STATUSES = frozenset({401, 403, 429})
"""Responses Discord counts toward its invalid-request ban (10,000 per 10 minutes)."""


@dataclass
class Counters:
    """Running totals for one sandbox; tests read them, nothing in the sandbox resets them."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    invalid_requests: int = 0
    identifies: int = 0
    resumes: int = 0
    identifies_by_shard: Counter[tuple[int, int]] = field(default_factory=Counter)
    """Sessions started per ``(shard_id, shard_count)``; an IDENTIFY without ``shard`` is
    ``(0, 1)``."""
    identify_rate_limited: int = 0
    """IDENTIFYs answered with op 9 because their concurrency bucket was spent."""
    interactions_by_shard: Counter[tuple[int, int]] = field(default_factory=Counter)
    """INTERACTION_CREATEs delivered per ``(shard_id, shard_count)`` (one per session that got
    one; which shards a given interaction reached is ``InteractionResult.shards``)."""
    internal_errors: list[Exception] = field(default_factory=list)
    """Exceptions inside the sandbox itself (its bugs, not the bot's); the pytest fixture fails
    the test when there are any."""
    mention_violations: list[MentionViolation] = field(default_factory=list)
    """Messages whose body let someone ping (a user, a role, ``@everyone``/``@here`` mentioned in
    the content and not filtered out by ``allowed_mentions``) whom the test did not declare with
    ``Sandbox.expect_pings``, whether or not the ping happened. The pytest fixture fails the test
    when there are any; a test that provokes one on purpose asserts on it and clears the list."""

    def record(self, route: str, status: int) -> None:
        """Count one answered request (``route`` is ``"METHOD /template"``)."""
        self.requests[route] += 1
        self.statuses[status] += 1
        if status == 429:
            self.rate_limited += 1
        if status in INVALID_STATUSES:
            self.invalid_requests += 1

    def internal_error(self, error: Exception) -> None:
        """Keep and log an exception the sandbox did not expect."""
        _log.error("sandbox internal error", exc_info=error)
        self.internal_errors.append(error)
