"""Digests shaped the way a server wants them, through the sandbox: filters, a compact layout,
pausing, and delivery on the minute. The bot reads the time from a settable clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ainews.app import NewsBot
from ainews.delivery import Outcome
from discord_sandbox.sandbox import Sandbox
from tests.helpers import (
    NewsWorld,
    SettableClock,
    card_titles,
    digest_command,
    digests_posted,
    eventually,
    start_news_bot,
)

MONDAY_RUN = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


async def subscribe(sandbox: Sandbox, world: NewsWorld, **options: str | int) -> None:
    result = await digest_command(sandbox, world, "subscribe", **options)
    assert result.ephemeral and "now gets" in (result.content or ""), result.content


async def test_filters_choose_what_a_digest_posts_and_preview_says_what_they_held_back(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await subscribe(sandbox, world, topic="Robotics", max_items=10)
    filtered = await digest_command(
        sandbox, world, "filter", include='robot, "driverless taxis"', exclude="laundry"
    )
    assert filtered.ephemeral
    assert 'include robot, "driverless taxis"; exclude laundry' in (filtered.content or "")

    preview = await digest_command(sandbox, world, "preview")
    listed = await digest_command(sandbox, world, "list")
    clock.set(MONDAY_RUN)
    (result,) = await clocked_bot.deliverer.run_due()

    (parts,) = digests_posted(sandbox, world.news).values()
    titles = card_titles(parts)
    assert result.outcome is Outcome.SENT and result.articles == len(titles)
    assert (
        "Surgical robot completes supervised suturing trial at Linden Teaching Hospital" in titles
    )
    assert all("laundry" not in title.casefold() for title in titles)
    assert all(
        " robot " in f" {title.casefold()} " or "driverless taxis" in title.casefold()
        for title in titles
    ), titles
    assert "+" not in parts[-1].content.split("\n-#")[0].split("\n", 1)[-1]  # no "+N more"
    robotics = await robotics_story_count(clocked_bot)
    held_back = robotics - len(titles)
    assert held_back > 0
    assert f"{held_back} new articles held back" in (preview.content or "")
    assert f"({held_back} new held back)" in listed.embeds[0]["fields"][0]["value"]

    cleared = await digest_command(sandbox, world, "filter", clear=True)
    assert "no filters" in (cleared.content or "")


async def robotics_story_count(bot: NewsBot) -> int:
    rows = await bot.database.fetch(
        "SELECT count(DISTINCT a.story_id) FROM articles AS a JOIN article_topics AS t"
        " ON t.article_id = a.id WHERE t.topic_key = 'robotics' AND a.active = 1"
    )
    return int(rows[0][0])


async def test_a_wrong_filter_is_explained_privately(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    await subscribe(sandbox, world, topic="AI")

    result = await digest_command(sandbox, world, "filter", providers_excluded="not a domain!")

    assert result.ephemeral
    assert "That filter is not accepted: “not” is not a domain" in (result.content or "")


async def test_a_compact_digest_is_one_embed_of_linked_headlines(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await subscribe(sandbox, world, topic="AI", max_items=7, style="compact")
    clock.set(MONDAY_RUN)

    (result,) = await clocked_bot.deliverer.run_due()

    (parts,) = digests_posted(sandbox, world.news).values()
    assert result.outcome is Outcome.SENT and result.articles == 7
    (message,) = parts
    (embed,) = message.embeds
    lines = embed["description"].split("\n")
    assert len(lines) == 7
    assert all(line.startswith("**[") and "](https://" in line for line in lines)
    assert message.content.startswith("**AI news digest**")


async def test_a_paused_digest_keeps_its_settings_and_resumes_from_now(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await subscribe(sandbox, world, topic="AI", time="09:00", max_items=3)
    paused = await digest_command(sandbox, world, "pause")
    assert "paused" in (paused.content or "")

    clock.set(MONDAY_RUN)
    assert await clocked_bot.deliverer.run_due() == []
    listed = await digest_command(sandbox, world, "list")
    assert "Paused: `/digest resume` starts it again" in listed.embeds[0]["fields"][0]["value"]

    clock.set(datetime(2027, 2, 3, 12, 0, tzinfo=UTC))  # two missed runs while paused
    resumed = await digest_command(sandbox, world, "resume")
    assert "runs again" in (resumed.content or "")
    assert await clocked_bot.deliverer.run_due() == []  # nothing missed is sent
    clock.set(datetime(2027, 2, 4, 9, 0, tzinfo=UTC))
    (result,) = await clocked_bot.deliverer.run_due()
    assert result.outcome is Outcome.SENT and result.articles == 3  # max_items kept


class RunningClock:
    """The real clock moved by a fixed offset: time passes, but the hour is chosen."""

    def __init__(self, now: datetime) -> None:
        self.offset = now - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.mark.slow
async def test_a_digest_arrives_within_two_seconds_of_its_minute(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    """The scheduler sleeps until the digest is due, not until its next poll."""
    clock = RunningClock(datetime(2027, 2, 1, 8, 59, 57, tzinfo=UTC))
    async with start_news_bot(sandbox, world.settings, clock=clock):
        await subscribe(sandbox, world, topic="AI", time="09:00", max_items=2)
        await eventually(lambda: bool(digests_posted(sandbox, world.news)), within=10)
        arrived = clock()

    due = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
    assert timedelta(0) <= arrived - due < timedelta(seconds=2), arrived - due


@pytest.mark.slow
async def test_a_jump_of_the_wall_clock_is_noticed_without_waiting_for_the_old_due_time(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    """The scheduler expects the digest in an hour; the clock jumps to a second before it:
    the scheduler, which looks again at least every ``max_sleep`` seconds (15 in production,
    0.3 here), delivers on time."""
    clock = RunningClock(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))
    async with start_news_bot(sandbox, world.settings, clock=clock) as bot:
        bot.get_cog("DigestCommands").max_sleep = 0.3  # type: ignore[union-attr]
        await subscribe(sandbox, world, topic="AI", time="09:00", max_items=2)
        await eventually(lambda: not bot.deliverer.woken.is_set())  # its pass after the change
        await asyncio.sleep(0.1)  # and it sleeps, expecting the digest in an hour
        clock.offset += timedelta(minutes=59, seconds=59)  # the clock jumps forward
        await eventually(lambda: bool(digests_posted(sandbox, world.news)), within=5)
        arrived = clock()

    due = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
    assert timedelta(0) <= arrived - due < timedelta(seconds=2), arrived - due
