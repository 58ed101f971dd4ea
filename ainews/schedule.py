"""Digest schedules: a local time of day, an IANA timezone and days of the week.

Pure functions on plain data. Times are computed as wall-clock times in the subscriber's
timezone, so a 09:00 digest stays at 09:00 across daylight-saving changes:

- a local time that does not exist on a spring-forward day (02:30 when clocks jump from 02:00 to
  03:00) runs at the first moment after the gap (03:00) — the digest is late, never missed;
- a local time that happens twice on a fall-back day runs at its first occurrence only — never
  twice, because there is one run per local date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


class ScheduleError(ValueError):
    """A time, timezone or days value that is not accepted; the message says what is."""


@dataclass(frozen=True, slots=True)
class Schedule:
    local_time: time
    timezone: str
    days: frozenset[int]  # 0 = Monday … 6 = Sunday

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> str:
        return f"{self.local_time:%H:%M} {self.timezone}, {describe_days(self.days)}"


def parse_time(value: str) -> time:
    match = _TIME.fullmatch(value.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError(
            f"“{value}” is not a time of day: use 24-hour HH:MM, such as 09:00 or 18:30."
        )
    return time(int(match[1]), int(match[2]))


def parse_timezone(value: str) -> str:
    name = value.strip()
    if name.upper() == "UTC":
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Europe"
        raise ScheduleError(
            f"“{value}” is not a timezone: use an IANA name such as Europe/Paris, "
            "America/New_York or UTC (start typing for suggestions)."
        ) from None
    return name


def parse_days(value: str) -> frozenset[int]:
    """``daily``, ``weekdays``, ``weekends`` or a comma-separated list such as ``mon,wed,fri``."""
    text = value.strip().lower()
    if text in ("", "daily", "every day"):
        return frozenset(range(7))
    if text == "weekdays":
        return frozenset(range(5))
    if text == "weekends":
        return frozenset({5, 6})
    days = set()
    for item in re.split(r"[,\s]+", text):
        key = item[:3]
        if len(item) < 3 or key not in WEEKDAYS:
            raise ScheduleError(
                f"“{value}” is not a set of days: use daily, weekdays, weekends, or days such "
                "as mon,wed,fri."
            )
        days.add(WEEKDAYS.index(key))
    return frozenset(days)


def describe_days(days: frozenset[int]) -> str:
    if days == frozenset(range(7)):
        return "daily"
    if days == frozenset(range(5)):
        return "weekdays"
    if days == frozenset({5, 6}):
        return "weekends"
    return ",".join(WEEKDAYS[day] for day in sorted(days))


def next_run_after(schedule: Schedule, after: datetime) -> datetime:
    """The first scheduled moment strictly after ``after`` (aware), in UTC."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    zone = schedule.zone
    local_day = after.astimezone(zone).date()
    for offset in range(8):
        day = local_day + timedelta(days=offset)
        if day.weekday() not in schedule.days:
            continue
        run = _wall_clock_to_utc(day, schedule.local_time, zone)
        if run > after:
            return run
    raise ValueError("a schedule needs at least one day")  # pragma: no cover - days non-empty


def _wall_clock_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``at`` on ``day`` in ``zone``: its first occurrence when the clocks
    repeat it, the end of the gap when they skip it."""
    wall = datetime.combine(day, at)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first occurrence
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # Skipped: fold=1 reads the time with the offset after the jump, an instant before the gap;
    # fold=0 one after it. Find the jump between them to the second.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(instant.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def timezone_names() -> list[str]:
    return sorted(available_timezones() | {"UTC"})
