"""Digest schedules: parsing what an admin types, and wall-clock runs across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from ainews.schedule import (
    Schedule,
    ScheduleError,
    describe_days,
    next_run_after,
    parse_days,
    parse_time,
    parse_timezone,
)

PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"
DAILY = frozenset(range(7))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def schedule(at: str, zone: str = "UTC", days: str = "daily") -> Schedule:
    return Schedule(parse_time(at), parse_timezone(zone), parse_days(days))


# Parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("09:00", time(9, 0)),
        ("9:05", time(9, 5)),
        (" 18:30 ", time(18, 30)),
        ("00:00", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_parse_time_accepts_24_hour_hh_mm(typed: str, expected: time) -> None:
    assert parse_time(typed) == expected


@pytest.mark.parametrize(
    "typed", ["24:00", "09:60", "9", "9am", "09.00", "09:00:00", "", "noon", "-1:00", "9:5"]
)
def test_parse_time_rejects_anything_else_and_says_what_is_accepted(typed: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_time(typed)
    message = str(caught.value)
    assert f"“{typed}”" in message
    assert "HH:MM" in message and "09:00" in message


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Europe/Paris", PARIS),
        (" America/New_York ", NEW_YORK),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_parse_timezone_accepts_iana_names(typed: str, expected: str) -> None:
    assert parse_timezone(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "Mars/Olympus_Mons",
        "Paris",
        "Europe",  # a folder of the zone database, not a zone
        "America",
        "../../etc/passwd",
        "/etc/localtime",
        "",
        "CEST+2",
    ],
)
def test_parse_timezone_rejects_unknown_names_with_examples(typed: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_timezone(typed)
    message = str(caught.value)
    assert "IANA" in message and "Europe/Paris" in message and "UTC" in message


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("daily", DAILY),
        ("", DAILY),
        ("weekdays", frozenset({0, 1, 2, 3, 4})),
        ("Weekends", frozenset({5, 6})),
        ("mon,wed,fri", frozenset({0, 2, 4})),
        ("Mon, Wed, Fri", frozenset({0, 2, 4})),
        ("tuesday thursday", frozenset({1, 3})),
        ("sun", frozenset({6})),
    ],
)
def test_parse_days_accepts_keywords_and_day_lists(typed: str, expected: frozenset[int]) -> None:
    assert parse_days(typed) == expected


@pytest.mark.parametrize("typed", ["someday", "mon,xyz", "m", "mo,we", "every other day", "1,3"])
def test_parse_days_rejects_anything_else_naming_the_forms(typed: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_days(typed)
    message = str(caught.value)
    for form in ("daily", "weekdays", "weekends", "mon,wed,fri"):
        assert form in message


@pytest.mark.parametrize("typed", ["daily", "weekdays", "weekends", "mon,wed,fri", "sat"])
def test_describe_days_reads_back_as_typed(typed: str) -> None:
    assert describe_days(parse_days(typed)) == typed
    assert parse_days(describe_days(parse_days(typed))) == parse_days(typed)


def test_schedule_describes_itself() -> None:
    assert schedule("07:05", PARIS, "mon,wed,fri").describe() == "07:05 Europe/Paris, mon,wed,fri"


# Next runs ----------------------------------------------------------------------------------


def test_next_run_is_strictly_after_and_in_utc() -> None:
    nine = schedule("09:00")
    assert next_run_after(nine, utc(2027, 2, 1, 8, 0)) == utc(2027, 2, 1, 9, 0)
    assert next_run_after(nine, utc(2027, 2, 1, 9, 0)) == utc(2027, 2, 2, 9, 0)
    assert next_run_after(nine, utc(2027, 2, 1, 8, 59, 59)).tzinfo == UTC


def test_next_run_reads_the_local_date_of_after_in_the_schedule_zone() -> None:
    # 23:30 UTC on 1 Feb is already 2 Feb in Tokyo: the 08:00 Tokyo run of 2 Feb is next.
    tokyo = schedule("08:00", "Asia/Tokyo")
    assert next_run_after(tokyo, utc(2027, 2, 1, 23, 30)) == local("Asia/Tokyo", 2027, 2, 3, 8, 0)
    assert next_run_after(tokyo, utc(2027, 2, 1, 22, 30)) == local("Asia/Tokyo", 2027, 2, 2, 8, 0)


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_run_after(schedule("09:00"), datetime(2027, 2, 1, 8, 0))  # noqa: DTZ001


def test_weekdays_skip_the_weekend() -> None:
    weekdays = schedule("09:00", PARIS, "weekdays")
    friday_after = local(PARIS, 2027, 2, 5, 10, 0)  # Friday, after the run
    assert next_run_after(weekdays, friday_after) == local(PARIS, 2027, 2, 8, 9, 0)  # Monday
    assert next_run_after(weekdays, local(PARIS, 2027, 2, 6, 12, 0)).weekday() == 0


def test_listed_days_skip_the_others() -> None:
    mwf = schedule("18:30", NEW_YORK, "mon,wed,fri")
    moment = local(NEW_YORK, 2027, 2, 1, 18, 30)  # Monday's run itself
    runs = []
    for _ in range(6):
        moment = next_run_after(mwf, moment)
        runs.append(moment.astimezone(ZoneInfo(NEW_YORK)))
    assert [run.strftime("%a %d %H:%M") for run in runs] == [
        "Wed 03 18:30",
        "Fri 05 18:30",
        "Mon 08 18:30",
        "Wed 10 18:30",
        "Fri 12 18:30",
        "Mon 15 18:30",
    ]


def test_weekends_only() -> None:
    weekends = schedule("10:00", "UTC", "weekends")
    assert next_run_after(weekends, utc(2027, 2, 1, 0, 0)) == utc(2027, 2, 6, 10, 0)  # Saturday
    assert next_run_after(weekends, utc(2027, 2, 6, 10, 0)) == utc(2027, 2, 7, 10, 0)  # Sunday
    assert next_run_after(weekends, utc(2027, 2, 7, 10, 0)) == utc(2027, 2, 13, 10, 0)


# Daylight-saving changes ----------------------------------------------------------------------
# 2027: Paris springs forward on 28 March (02:00 CET -> 03:00 CEST) and falls back on 31 October
# (03:00 CEST -> 02:00 CET); New York on 14 March (02:00 -> 03:00) and 7 November (02:00 -> 01:00).


@pytest.mark.parametrize(
    ("zone", "day", "expected_utc"),
    [
        (PARIS, date(2027, 3, 28), utc(2027, 3, 28, 1, 0)),  # 03:00 CEST, the end of the gap
        (NEW_YORK, date(2027, 3, 14), utc(2027, 3, 14, 7, 0)),  # 03:00 EDT
    ],
)
def test_a_time_skipped_by_spring_forward_runs_at_the_end_of_the_gap_once(
    zone: str, day: date, expected_utc: datetime
) -> None:
    half_past_two = schedule("02:30", zone)
    day_before = datetime.combine(day - timedelta(days=1), time(12, 0), ZoneInfo(zone))
    run = next_run_after(half_past_two, day_before)
    assert run == expected_utc
    assert run.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") == f"{day} 03:00"
    # Once: the run after it is the next day's 02:30, whatever moment of the gap day follows.
    following = next_run_after(half_past_two, run)
    assert following.astimezone(ZoneInfo(zone)).date() == day + timedelta(days=1)
    assert following.astimezone(ZoneInfo(zone)).time() == time(2, 30)
    assert next_run_after(half_past_two, run + timedelta(minutes=45)) == following


@pytest.mark.parametrize(
    ("zone", "at", "day", "first", "second"),
    [
        (PARIS, "02:30", date(2027, 10, 31), utc(2027, 10, 31, 0, 30), utc(2027, 10, 31, 1, 30)),
        (NEW_YORK, "01:30", date(2027, 11, 7), utc(2027, 11, 7, 5, 30), utc(2027, 11, 7, 6, 30)),
    ],
)
def test_a_time_repeated_by_fall_back_runs_once_at_its_first_occurrence(
    zone: str, at: str, day: date, first: datetime, second: datetime
) -> None:
    repeated = schedule(at, zone)
    day_before = datetime.combine(day - timedelta(days=1), time(12, 0), ZoneInfo(zone))
    run = next_run_after(repeated, day_before)
    assert run == first
    # Both instants read as the same wall-clock time: the second is not a run.
    assert second.astimezone(ZoneInfo(zone)).time() == parse_time(at)
    after_first = next_run_after(repeated, run)
    assert after_first > second
    assert after_first.astimezone(ZoneInfo(zone)).date() == day + timedelta(days=1)
    # Asked from inside the repeated hour (after the first occurrence): still the next day.
    assert next_run_after(repeated, second - timedelta(minutes=1)) == after_first
    assert next_run_after(repeated, second) == after_first


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [
        (PARIS, date(2027, 3, 28), date(2027, 10, 31)),
        (NEW_YORK, date(2027, 3, 14), date(2027, 11, 7)),
    ],
)
def test_nine_o_clock_stays_nine_o_clock_local_across_both_changes(
    zone: str, spring: date, autumn: date
) -> None:
    nine = schedule("09:00", zone)
    for change in (spring, autumn):
        moment = datetime.combine(change - timedelta(days=3), time(12, 0), ZoneInfo(zone))
        offsets = set()
        for _ in range(6):
            moment = next_run_after(nine, moment)
            seen = moment.astimezone(ZoneInfo(zone))
            assert seen.time() == time(9, 0)
            offsets.add(seen.utcoffset())
        assert len(offsets) == 2  # the UTC instant moved by an hour; the local time did not


@pytest.mark.parametrize("zone", [PARIS, NEW_YORK])
def test_a_year_of_daily_half_past_two_runs_once_per_local_date(zone: str) -> None:
    tz = ZoneInfo(zone)
    half_past_two = schedule("02:30", zone)
    first_day, days = date(2027, 1, 1), 365

    # Chained, as the scheduler moves it on after each run.
    runs = [next_run_after(half_past_two, datetime.combine(first_day, time(0, 0), tz))]
    while len(runs) < days:
        runs.append(next_run_after(half_past_two, runs[-1]))
    local_dates = [run.astimezone(tz).date() for run in runs]
    assert local_dates == [first_day + timedelta(days=n) for n in range(days)]
    assert all(later > earlier for earlier, later in pairwise(runs))
    off_time = [run.astimezone(tz) for run in runs if run.astimezone(tz).time() != time(2, 30)]
    if zone == PARIS:  # 02:30 does not exist on the spring-forward day only
        assert [(m.date(), m.time()) for m in off_time] == [(date(2027, 3, 28), time(3, 0))]
    else:  # in New York the gap is 02:00-03:00 as well
        assert [(m.date(), m.time()) for m in off_time] == [(date(2027, 3, 14), time(3, 0))]

    # Day by day: asked at every local midnight, the run is that very date, and the same one.
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        run = next_run_after(half_past_two, datetime.combine(day, time(0, 0), tz))
        assert run == runs[offset]
        # Asked at any hour of the day before the run, the answer does not change.
        assert next_run_after(half_past_two, run - timedelta(minutes=1)) == run
