"""/digest as an admin uses it, and the digests the scheduler posts, through the sandbox.

The bot reads the time from a settable clock (``clocked_bot``): a test moves the clock and runs
one scheduler pass (``bot.deliverer.run_due()``, the loop's body) instead of waiting.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from ainews.app import NewsBot
from ainews.digest import find_marker
from discord_sandbox import Permission
from discord_sandbox.errors import SandboxUsageError
from discord_sandbox.interactions import InteractionResult
from discord_sandbox.sandbox import Sandbox
from tests.helpers import (
    NewsWorld,
    SettableClock,
    card_titles,
    digest_command,
    digests_posted,
    eventually,
    scheduler_settled,
    start_news_bot,
)


def discord_time(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:F>"


def answer_titles(result: InteractionResult) -> list[str]:
    """Card titles of an answer: the original response and its followups."""
    messages = [result.original, *result.followups] if result.original else result.followups
    seen: list[str] = []
    for message in messages:
        if message is not None:
            seen += [str(embed["title"]) for embed in message.embeds if embed["title"] not in seen]
    return seen


async def story_of(bot: NewsBot, titles: list[str]) -> dict[str, str]:
    rows = await bot.database.fetch(
        f"SELECT title, story_id FROM articles WHERE title IN ({','.join('?' * len(titles))})",
        titles,
    )
    return {title: story for title, story in rows}


async def topic_story_count(bot: NewsBot, topic_key: str) -> int:
    rows = await bot.database.fetch(
        "SELECT count(DISTINCT a.story_id) FROM articles AS a JOIN article_topics AS t"
        " ON t.article_id = a.id WHERE t.topic_key = ? AND a.active = 1",
        (topic_key,),
    )
    return int(rows[0][0])


# Subscribing, listing, unsubscribing -----------------------------------------------------------


async def test_subscribe_confirms_privately_with_the_schedule_and_next_run(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    result = await digest_command(
        sandbox,
        world,
        "subscribe",
        topic="robotics",
        time="07:30",
        timezone="Europe/Paris",
        days="weekdays",
        max_items=3,
    )

    assert result.ephemeral
    content = result.content or ""
    assert f"<#{world.news.id}> now gets **Robotics**" in content
    assert "07:30 Europe/Paris, weekdays, up to 3 articles" in content
    # Monday 08:00 UTC is 09:00 in Paris: the next 07:30 is Tuesday's, 06:30 UTC.
    assert discord_time(datetime(2027, 2, 2, 6, 30, tzinfo=UTC)) in content
    assert sandbox.channel_messages(world.news) == []
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.topic_keys == ("robotics",)
    assert digest.next_run_at == datetime(2027, 2, 2, 6, 30, tzinfo=UTC)


async def test_one_digest_per_channel_combines_its_topics(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    await digest_command(sandbox, world, "subscribe", topic="Robotics", max_items=10)
    await digest_command(sandbox, world, "subscribe", topic="AI Hardware")  # keeps max_items

    now = await digest_command(sandbox, world, "now")

    assert now.ephemeral and "delivered 10 articles" in (now.content or "")
    (parts,) = digests_posted(sandbox, world.news).values()  # one delivery, one marker
    marks = [find_marker(message.content) for message in parts]
    assert marks == [(marks[0][0] if marks[0] else "", n, len(parts)) for n in range(len(parts))]
    header = parts[0].content.splitlines()[0]
    assert "10 new articles on AI Hardware, Robotics" in header
    footers = [embed["footer"]["text"] for message in parts for embed in message.embeds]
    assert len(footers) == 10
    assert any("Robotics" in f for f in footers) and any("AI Hardware" in f for f in footers)
    assert all("Robotics" in f or "AI Hardware" in f for f in footers)
    stamps = [embed["timestamp"] for message in parts for embed in message.embeds]
    assert stamps == sorted(stamps, reverse=True)
    stories = await story_of(clocked_bot, card_titles(parts))
    assert len(set(stories.values())) == 10  # one card per story

    listed = await digest_command(sandbox, world, "list")
    (field,) = listed.embeds[0]["fields"]
    assert f"<#{world.news.id}>: AI Hardware, Robotics" in field["value"]


async def test_list_shows_schedule_next_run_and_status(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    empty = await digest_command(sandbox, world, "list")
    assert empty.ephemeral and "no digests yet" in (empty.content or "")

    await digest_command(
        sandbox, world, "subscribe", topic="AI Policy", time="18:00", timezone="America/New_York"
    )
    await digest_command(
        sandbox, world, "subscribe", topic="Robotics", channel=world.other, days="mon,wed,fri"
    )
    listed = await digest_command(sandbox, world, "list")

    assert listed.ephemeral
    fields = {field["name"]: field["value"] for field in listed.embeds[0]["fields"]}
    assert set(fields) == {"#news", "#general"}
    assert fields["#news"].splitlines() == [
        f"<#{world.news.id}>: AI Policy",
        "18:00 America/New_York, daily, up to 5 articles",
        f"Next: {discord_time(datetime(2027, 2, 1, 23, 0, tzinfo=UTC))} "
        f"(<t:{int(datetime(2027, 2, 1, 23, 0, tzinfo=UTC).timestamp())}:R>)",
        "Status: active.",
    ]
    assert "09:00 UTC, mon,wed,fri" in fields["#general"]
    assert discord_time(datetime(2027, 2, 1, 9, 0, tzinfo=UTC)) in fields["#general"]


async def test_unsubscribe_removes_a_topic_then_the_digest(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    await digest_command(sandbox, world, "subscribe", topic="Robotics")
    await digest_command(sandbox, world, "subscribe", topic="AI Hardware")

    first = await digest_command(sandbox, world, "unsubscribe", topic="Robotics")
    assert first.ephemeral and "no longer gets Robotics" in (first.content or "")
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.topic_keys == ("ai hardware",)

    again = await digest_command(sandbox, world, "unsubscribe", topic="Robotics")
    assert again.ephemeral and "does not include that topic" in (again.content or "")

    last = await digest_command(sandbox, world, "unsubscribe", topic="AI Hardware")
    assert "the digest is removed" in (last.content or "")
    assert await clocked_bot.digests.get(world.news.id) is None


# What a digest posts ----------------------------------------------------------------------------


async def test_preview_shows_exactly_what_the_scheduled_run_and_now_then_post(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await digest_command(sandbox, world, "subscribe", topic="AI", max_items=4)

    preview = await digest_command(sandbox, world, "preview")
    assert preview.ephemeral
    assert sandbox.channel_messages(world.news) == []  # a preview posts nothing
    previewed = answer_titles(preview)
    assert len(previewed) == 4
    assert (preview.content or "").splitlines()[-1] == "-# preview · Status: active."

    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    (result,) = await clocked_bot.deliverer.run_due()
    assert result.articles == 4
    (scheduled,) = digests_posted(sandbox, world.news).values()
    assert card_titles(scheduled) == previewed
    assert scheduled[0].content.splitlines()[0] == (preview.content or "").splitlines()[0]

    second = answer_titles(await digest_command(sandbox, world, "preview"))
    assert len(second) == 4 and not set(second) & set(previewed)
    await digest_command(sandbox, world, "now")
    by_marker = digests_posted(sandbox, world.news)
    assert len(by_marker) == 2
    assert card_titles(list(by_marker.values())[1]) == second


async def test_nothing_new_means_no_message(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await digest_command(sandbox, world, "subscribe", topic="Microsoft AI", max_items=10)
    everything = await digest_command(sandbox, world, "now")
    assert "delivered" in (everything.content or "")
    posted = len(sandbox.channel_messages(world.news))

    again = await digest_command(sandbox, world, "now")
    assert "nothing new to post; no message was sent" in (again.content or "")
    preview = await digest_command(sandbox, world, "preview")
    assert preview.ephemeral and "Nothing new" in (preview.content or "")
    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    (result,) = await clocked_bot.deliverer.run_due()
    assert result.outcome.value == "nothing new"
    assert len(sandbox.channel_messages(world.news)) == posted
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.next_run_at == datetime(2027, 2, 2, 9, 0, tzinfo=UTC)


async def test_overflow_line_counts_the_stories_news_then_shows(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    await digest_command(sandbox, world, "subscribe", topic="AI Hardware", max_items=2)
    await digest_command(sandbox, world, "now")
    (parts,) = digests_posted(sandbox, world.news).values()
    match = re.search(r"\+(\d+) more on AI Hardware — /news shows them", parts[-1].content)
    assert match is not None, parts[-1].content

    rest = await sandbox.invoke(
        "news",
        member=world.reader,
        channel=world.news,
        options={"topic": "AI Hardware", "count": 10},
    )
    assert len(rest.embeds) == int(match[1])
    assert len(rest.embeds) + 2 == await topic_story_count(clocked_bot, "ai hardware")


# When a digest is posted --------------------------------------------------------------------------


async def test_schedule_fires_at_the_local_time_and_not_before(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    # Monday 00:00 in Los Angeles: the 20:00 digest is Monday's, at 04:00 UTC on Tuesday.
    subscribed = await digest_command(
        sandbox,
        world,
        "subscribe",
        topic="Robotics",
        time="20:00",
        timezone="America/Los_Angeles",
        max_items=2,
    )
    due = datetime(2027, 2, 2, 4, 0, tzinfo=UTC)
    assert discord_time(due) in (subscribed.content or "")

    clock.set(datetime(2027, 2, 2, 3, 59, 59, tzinfo=UTC))
    assert await clocked_bot.deliverer.run_due() == []
    assert sandbox.channel_messages(world.news) == []

    clock.advance(seconds=1)
    (result,) = await clocked_bot.deliverer.run_due()
    assert result.outcome.value == "sent" and result.articles == 2
    (parts,) = digests_posted(sandbox, world.news).values()
    assert parts[0].content.startswith("**AI news digest** — Monday 1 February 2027 · 2 new")

    clock.advance(minutes=30)
    assert await clocked_bot.deliverer.run_due() == []
    assert len(digests_posted(sandbox, world.news)) == 1
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.next_run_at == datetime(2027, 2, 3, 4, 0, tzinfo=UTC)


async def test_dst_days_in_paris_post_once_at_the_right_time(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    # 2027: Paris skips 02:00-03:00 on 28 March and repeats 02:00-03:00 on 31 October.
    clock.set(datetime(2027, 3, 27, 12, 0, tzinfo=UTC))
    subscribed = await digest_command(
        sandbox, world, "subscribe", topic="AI", time="02:30", timezone="Europe/Paris", max_items=1
    )
    spring_run = datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 03:00 CEST, the end of the gap
    assert discord_time(spring_run) in (subscribed.content or "")

    async def runs_between(start: datetime, end: datetime) -> list[datetime]:
        clock.set(start)
        sent = []
        while clock() <= end:
            results = await clocked_bot.deliverer.run_due()
            sent += [clock() for result in results if result.outcome.value == "sent"]
            clock.advance(minutes=5)
        return sent

    spring = await runs_between(
        datetime(2027, 3, 27, 22, 0, tzinfo=UTC), datetime(2027, 3, 28, 22, 0, tzinfo=UTC)
    )
    assert spring == [spring_run]

    # Months later (the bot was away): the overdue digest is sent once, then the autumn day.
    caught_up = await runs_between(
        datetime(2027, 10, 30, 12, 0, tzinfo=UTC), datetime(2027, 10, 30, 12, 0, tzinfo=UTC)
    )
    assert len(caught_up) == 1
    autumn = await runs_between(
        datetime(2027, 10, 30, 22, 0, tzinfo=UTC), datetime(2027, 10, 31, 22, 0, tzinfo=UTC)
    )
    assert autumn == [datetime(2027, 10, 31, 0, 30, tzinfo=UTC)]  # 02:30 CEST, not 02:30 CET

    digests = digests_posted(sandbox, world.news)
    assert len(digests) == 3
    headers = [parts[0].content.splitlines()[0] for parts in digests.values()]
    assert "Sunday 28 March 2027" in headers[0] and "Sunday 31 October 2027" in headers[2]
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.next_run_at == datetime(2027, 11, 1, 1, 30, tzinfo=UTC)


async def test_after_three_days_down_only_the_latest_digest_is_sent_once(
    sandbox: Sandbox, world: NewsWorld, clock: SettableClock
) -> None:
    async with start_news_bot(sandbox, world.settings, clock=clock):
        await digest_command(sandbox, world, "subscribe", topic="AI", max_items=2)
    # Down from Monday 08:00 to Thursday 12:00: the 09:00 runs of Monday to Thursday were missed.
    clock.set(datetime(2027, 2, 4, 12, 0, tzinfo=UTC))

    async with start_news_bot(sandbox, world.settings, clock=clock) as bot:
        # The scheduler loop's first pass runs as soon as the bot is ready.
        await eventually(lambda: bool(digests_posted(sandbox, world.news)))
        await eventually(lambda: scheduler_settled(bot))
        assert await bot.deliverer.run_due() == []
        digest = await bot.digests.get(world.news.id)

    (parts,) = digests_posted(sandbox, world.news).values()
    assert len(card_titles(parts)) == 2
    assert "Thursday 4 February 2027" in parts[0].content
    assert digest is not None and digest.next_run_at == datetime(2027, 2, 5, 9, 0, tzinfo=UTC)


async def test_backfill_posts_that_many_now_and_the_schedule_goes_on(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    result = await digest_command(sandbox, world, "subscribe", topic="AI", backfill=3)

    assert result.ephemeral
    assert "Backfill: delivered 3 articles." in (result.content or "")
    (backfilled,) = digests_posted(sandbox, world.news).values()
    assert len(card_titles(backfilled)) == 3

    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    (scheduled,) = await clocked_bot.deliverer.run_due()
    assert scheduled.articles == 5  # the digest's own max_items, not the backfill's
    first, second = digests_posted(sandbox, world.news).values()
    assert not set(card_titles(first)) & set(card_titles(second))


# Digests and /news share the channel's ledger --------------------------------------------------


async def test_a_digest_skips_stories_news_posted_even_from_another_source(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    shown = await sandbox.invoke(
        "news",
        member=world.reader,
        channel=world.news,
        options={"topic": "AI Hardware", "count": 3},
    )
    shown_titles = [str(embed["title"]) for embed in shown.embeds]
    analysts = next(t for t in shown_titles if t.startswith("Analysts question whether Aster"))
    unveils = "Aster Semiconductor unveils 4-watt inference chip aimed at smart cameras and drones"
    stories = await story_of(clocked_bot, [analysts, unveils])
    assert len(stories) == 2 and len(set(stories.values())) == 1  # one story, two sources

    await digest_command(sandbox, world, "subscribe", topic="AI Hardware", max_items=10)
    await digest_command(sandbox, world, "now")

    (parts,) = digests_posted(sandbox, world.news).values()
    digest_titles = card_titles(parts)
    assert digest_titles and not set(digest_titles) & set(shown_titles)
    assert unveils not in digest_titles
    digest_stories = await story_of(clocked_bot, digest_titles)
    shown_stories = await story_of(clocked_bot, shown_titles)
    assert not set(digest_stories.values()) & set(shown_stories.values())
    assert len(digest_titles) + 3 == await topic_story_count(clocked_bot, "ai hardware")


async def test_news_skips_stories_a_digest_posted(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    await digest_command(sandbox, world, "subscribe", topic="Robotics", max_items=3)
    await digest_command(sandbox, world, "now")
    (parts,) = digests_posted(sandbox, world.news).values()
    digest_titles = card_titles(parts)

    rest = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": "Robotics", "count": 10}
    )
    news_titles = [str(embed["title"]) for embed in rest.embeds]

    assert len(digest_titles) == 3 and news_titles
    assert not set(news_titles) & set(digest_titles)
    assert len(news_titles) + 3 == await topic_story_count(clocked_bot, "robotics")
    caught_up = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": "Robotics"}
    )
    assert caught_up.ephemeral and "caught up" in (caught_up.content or "")


# Refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "explained"),
    [
        ("time", "25:00", "use 24-hour HH:MM, such as 09:00 or 18:30"),
        ("time", "9am", "use 24-hour HH:MM"),
        ("timezone", "Mars/Olympus_Mons", "use an IANA name such as Europe/Paris"),
        ("timezone", "Europe", "use an IANA name such as Europe/Paris"),
        ("days", "someday", "use daily, weekdays, weekends, or days such as mon,wed,fri"),
    ],
)
async def test_bad_schedule_values_are_refused_privately_saying_what_is_accepted(
    sandbox: Sandbox,
    world: NewsWorld,
    clocked_bot: NewsBot,
    option: str,
    value: str,
    explained: str,
) -> None:
    result = await digest_command(sandbox, world, "subscribe", topic="AI", **{option: value})

    assert result.ephemeral
    assert f"“{value}”" in (result.content or "") and explained in (result.content or "")
    assert await clocked_bot.digests.get(world.news.id) is None


async def test_unknown_topic_is_refused_with_suggestions(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    result = await digest_command(sandbox, world, "subscribe", topic="robotcs")
    assert result.ephemeral and "Robotics" in (result.content or "")
    assert await clocked_bot.digests.get(world.news.id) is None


async def test_members_without_manage_server_neither_see_nor_can_run_digest(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    (registered,) = [c for c in sandbox.registered_commands(world.guild) if c["name"] == "digest"]
    assert int(registered["default_member_permissions"]) == Permission.MANAGE_GUILD
    await digest_command(sandbox, world, "subscribe", topic="AI")

    with pytest.raises(SandboxUsageError, match="lacks the default permissions of /digest"):
        await digest_command(sandbox, world, "now", member=world.reader)

    # A server admin lets the reader see /digest: the bot still checks Manage Server itself.
    sandbox.allow_command(world.guild, "digest", world.reader)
    for subcommand, options in [
        ("now", {}),
        ("subscribe", {"topic": "Robotics", "time": "10:00"}),
        ("unsubscribe", {"topic": "AI"}),
        ("preview", {}),
        ("list", {}),
    ]:
        refused = await digest_command(sandbox, world, subcommand, member=world.reader, **options)
        assert refused.ephemeral
        assert refused.content == "You need the Manage Guild permission to use this command."

    assert sandbox.channel_messages(world.news) == []
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.topic_keys == ("ai",)
    assert digest.schedule.describe() == "09:00 UTC, daily"


async def test_timezone_autocomplete_is_relevant_and_bounded(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    async def suggest(typed: str) -> list[str]:
        result = await sandbox.autocomplete(
            "digest subscribe",
            focused="timezone",
            value=typed,
            member=world.admin,
            channel=world.other,
            options={"topic": "AI"},
        )
        assert result.choices is not None and len(result.choices) <= 25
        return [choice["value"] for choice in result.choices]

    assert "Europe/Paris" in await suggest("paris")
    assert (await suggest("new york"))[:1] == ["America/New_York"]
    europe = await suggest("europe/")
    assert len(europe) == 25 and all(name.startswith("Europe/") for name in europe)
    assert len(await suggest("")) == 25
    assert (await suggest("utc"))[0] == "UTC"
    assert await suggest("zzzz-not-a-zone") == []
