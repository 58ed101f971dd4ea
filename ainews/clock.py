"""Time, injected: everything that needs "now" takes a :data:`Clock` (tests pass a settable one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: Returns the current moment, timezone-aware.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
