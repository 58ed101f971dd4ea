"""When a digest cannot be delivered: refused (403), unknown channel (404), Discord errors (5xx,
before or after it stored the message), channels deleted and the bot removed.

The admin types /digest in #general, so that is where the bot tells them about a failure. The
5xx faults use 503: discord.py retries a 500, 502, 504 or 524 itself, five times over 25 s, and
raises a 503 at once; a retry of the bot's own is what these tests are about.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time

import pytest

from ainews.app import NewsBot
from ainews.cogs.corpus_watch import rescan_corpus
from ainews.delivery import RETRY_DELAYS, Outcome
from ainews.digest import find_marker
from ainews.schedule import Schedule
from discord_sandbox import Permission, RateLimits, SandboxConfig
from discord_sandbox.sandbox import Sandbox
from tests.helpers import (
    NewsWorld,
    SettableClock,
    card_titles,
    digest_command,
    digests_posted,
    eventually,
    post_as,
    write_long_articles,
)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Days pass in milliseconds here: a channel's message bucket (5 per 5 s) would make
    discord.py wait real seconds between one simulated day's post and the next."""
    return SandboxConfig(rate_limits=RateLimits(channel_messages_limit=50))


MESSAGES = "/channels/{channel_id}/messages"
POSTS = f"POST {MESSAGES}"
MONDAY_RUN = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
EVERYTHING = (
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.READ_MESSAGE_HISTORY
)
MISSING_PERMISSION = (
    "the bot is missing a permission there (Send Messages, Embed Links or Read Message History)"
)


async def subscribe_news(sandbox: Sandbox, world: NewsWorld, max_items: int = 2) -> None:
    result = await digest_command(sandbox, world, "subscribe", topic="AI", max_items=max_items)
    assert result.ephemeral and "now gets **AI**" in (result.content or "")


async def ledger_rows(bot: NewsBot, channel_id: int) -> list[tuple[int, str]]:
    rows = await bot.database.fetch(
        "SELECT message_id, article_id FROM ledger WHERE channel_id = ? ORDER BY seq",
        (channel_id,),
    )
    return [(int(message), str(article)) for message, article in rows]


def digest_marker(content: str) -> str:
    mark = find_marker(content)
    assert mark is not None, content
    return mark[0]


def notices(sandbox: Sandbox, world: NewsWorld) -> list[str]:
    return [m.content for m in sandbox.channel_messages(world.other) if m.content.startswith("⚠️")]


class Posts:
    """Counts the bot's POSTs to channel messages between two looks."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.seen = sandbox.counters.requests[POSTS]

    def since(self) -> int:
        now = self.sandbox.counters.requests[POSTS]
        count, self.seen = now - self.seen, now
        return count


# Refused: 403 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "reason"),
    [
        (Permission.SEND_MESSAGES, MISSING_PERMISSION),
        (Permission.EMBED_LINKS, MISSING_PERMISSION),
        (
            Permission.VIEW_CHANNEL,
            "the bot cannot see that channel (it needs the View Channel permission)",
        ),
    ],
)
async def test_a_refused_digest_is_failing_told_once_tried_once_per_run_and_recovers(
    sandbox: Sandbox,
    world: NewsWorld,
    clocked_bot: NewsBot,
    clock: SettableClock,
    missing: Permission,
    reason: str,
) -> None:
    await subscribe_news(sandbox, world)
    sandbox.set_bot_permissions(world.news, EVERYTHING & ~missing)
    posts = Posts(sandbox)
    refusals = sandbox.counters.statuses[403]

    clock.set(MONDAY_RUN)
    (result,) = await clocked_bot.deliverer.run_due()

    assert result.outcome is Outcome.FAILED and result.reason == reason
    assert posts.since() == 2  # the one attempt, and the notice in #general
    assert sandbox.counters.statuses[403] == refusals + 1
    (notice,) = notices(sandbox, world)
    assert f"<#{world.news.id}>" in notice and reason in notice

    # No retry loop: the scheduler's passes during the day send nothing.
    for _ in range(6):
        clock.advance(minutes=30)
        assert await clocked_bot.deliverer.run_due() == []
    assert posts.since() == 0

    listed = await digest_command(sandbox, world, "list")
    assert f"Status: failing — {reason}." in listed.embeds[0]["fields"][0]["value"]
    preview = await digest_command(sandbox, world, "preview")
    assert preview.ephemeral
    assert (preview.content or "").endswith(f"-# preview · Status: failing — {reason}.")
    assert posts.since() == 0

    # The next two scheduled runs: one attempt each, and the admin is not told again.
    for day in (2, 3):
        clock.set(datetime(2027, 2, day, 9, 0, tzinfo=UTC))
        (again,) = await clocked_bot.deliverer.run_due()
        assert again.outcome is Outcome.FAILED
        assert posts.since() == 1
        clock.advance(minutes=1)
        assert await clocked_bot.deliverer.run_due() == []
    assert len(notices(sandbox, world)) == 1
    assert digests_posted(sandbox, world.news) == {}

    # Permission back: the next run delivers, and the digest is active again.
    sandbox.set_bot_permissions(world.news, None)
    clock.set(datetime(2027, 2, 4, 9, 0, tzinfo=UTC))
    (delivered,) = await clocked_bot.deliverer.run_due()
    assert delivered.outcome is Outcome.SENT and delivered.articles == 2
    (parts,) = digests_posted(sandbox, world.news).values()
    assert len(card_titles(parts)) == 2
    listed = await digest_command(sandbox, world, "list")
    assert "Status: active." in listed.embeds[0]["fields"][0]["value"]

    # A new failure later is a new thing to tell.
    sandbox.set_bot_permissions(world.news, EVERYTHING & ~missing)
    clock.set(datetime(2027, 2, 5, 9, 0, tzinfo=UTC))
    await clocked_bot.deliverer.run_due()
    assert len(notices(sandbox, world)) == 2


async def test_an_admin_who_used_digest_in_the_failing_channel_is_told_in_the_system_channel(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    system = sandbox.create_channel(world.guild, "announcements")
    sandbox.set_system_channel(world.guild, system)

    def system_channel_known() -> bool:
        guild = clocked_bot.get_guild(world.guild.id)
        return guild is not None and guild.system_channel is not None

    await eventually(system_channel_known)
    # Typed in #news itself, which is where the bot can no longer post.
    await digest_command(sandbox, world, "subscribe", where=world.news, topic="AI", max_items=2)
    sandbox.set_bot_permissions(world.news, EVERYTHING & ~Permission.SEND_MESSAGES)

    clock.set(MONDAY_RUN)
    (result,) = await clocked_bot.deliverer.run_due()

    assert result.outcome is Outcome.FAILED
    (notice,) = [m.content for m in sandbox.channel_messages(system)]
    assert f"<#{world.news.id}>" in notice and MISSING_PERMISSION in notice
    assert notices(sandbox, world) == []


async def test_a_pending_delivery_refused_at_the_next_run_is_tried_once_that_run(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    """A delivery left pending (Discord down, then the bot away) meets the next scheduled run:
    still one attempt for that run, not one per scheduler pass."""
    await subscribe_news(sandbox, world)
    sandbox.faults.fail_next(1, status=503, method="POST", route=MESSAGES)
    clock.set(MONDAY_RUN)
    (postponed,) = await clocked_bot.deliverer.run_due()
    assert postponed.outcome is Outcome.RETRYING

    # Tuesday's run comes before the pending delivery could be retried; the bot lost access.
    sandbox.set_bot_permissions(world.news, EVERYTHING & ~Permission.SEND_MESSAGES)
    posts = Posts(sandbox)
    clock.set(datetime(2027, 2, 2, 9, 0, tzinfo=UTC))
    (failed,) = await clocked_bot.deliverer.run_due()
    assert failed.outcome is Outcome.FAILED
    for _ in range(4):
        clock.advance(seconds=30)
        assert await clocked_bot.deliverer.run_due() == []
    assert posts.since() == 2  # one attempt and one notice
    assert len(notices(sandbox, world)) == 1


# Unknown channel: 404 ---------------------------------------------------------------------------


async def test_a_digest_for_an_unknown_channel_is_failing(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    ghost = sandbox.world.snowflakes.next()  # a channel id Discord does not know
    await clocked_bot.digests.subscribe(
        channel_id=ghost,
        guild_id=world.guild.id,
        topic_key="ai",
        schedule=Schedule(time(9, 0), "UTC", frozenset(range(7))),
        max_items=2,
        next_run_at=MONDAY_RUN,
        notify_channel_id=world.other.id,
    )
    posts = Posts(sandbox)
    not_found = sandbox.counters.statuses[404]

    clock.set(MONDAY_RUN)
    (result,) = await clocked_bot.deliverer.run_due()

    assert result.outcome is Outcome.FAILED and result.reason == "the channel no longer exists"
    assert sandbox.counters.statuses[404] == not_found + 1
    digest = await clocked_bot.digests.get(ghost)
    assert digest is not None and digest.status == "failing"
    assert [f"<#{ghost}>" in notice for notice in notices(sandbox, world)] == [True]
    clock.advance(minutes=10)
    assert await clocked_bot.deliverer.run_due() == []
    assert posts.since() == 2  # the attempt and the notice
    listed = await digest_command(sandbox, world, "list")
    assert "Status: failing — the channel no longer exists." in str(listed.embeds)


# Discord errors: 5xx ----------------------------------------------------------------------------


async def test_server_errors_are_retried_with_backoff_and_the_digest_arrives_once(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await subscribe_news(sandbox, world)
    sandbox.faults.fail_next(3, status=503, method="POST", route=MESSAGES)
    posts = Posts(sandbox)

    clock.set(MONDAY_RUN)
    (first,) = await clocked_bot.deliverer.run_due()
    assert first.outcome is Outcome.RETRYING
    attempts = [clock()]
    # Passes every 30 s for 10 minutes: tries only when the backoff says so.
    for _ in range(20):
        clock.advance(seconds=30)
        for result in await clocked_bot.deliverer.run_due():
            attempts.append(clock())
            if result.outcome is Outcome.SENT:
                break
        else:
            continue
        break

    offsets = [moment - MONDAY_RUN for moment in attempts]
    assert offsets == [
        RETRY_DELAYS[0] * 0,
        RETRY_DELAYS[0],
        RETRY_DELAYS[0] + RETRY_DELAYS[1],
        RETRY_DELAYS[0] + RETRY_DELAYS[1] + RETRY_DELAYS[2],
    ]
    assert posts.since() == 4
    (parts,) = digests_posted(sandbox, world.news).values()
    assert len(parts) == 1 and len(card_titles(parts)) == 2
    assert len(await ledger_rows(clocked_bot, world.news.id)) == 2
    assert notices(sandbox, world) == []
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.status == "active"


async def test_when_retries_run_out_the_digest_is_failing_and_the_next_run_delivers(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await subscribe_news(sandbox, world)
    tries = len(RETRY_DELAYS) + 1
    sandbox.faults.fail_next(tries, status=503, method="POST", route=MESSAGES)
    posts = Posts(sandbox)

    clock.set(MONDAY_RUN)
    outcomes = []
    while clock() < datetime(2027, 2, 1, 11, 0, tzinfo=UTC):
        outcomes += [result.outcome for result in await clocked_bot.deliverer.run_due()]
        clock.advance(minutes=1)

    assert outcomes == [Outcome.RETRYING] * (tries - 1) + [Outcome.FAILED]
    assert posts.since() == tries + 1  # every try, then the notice
    (notice,) = notices(sandbox, world)
    assert f"gave up after {tries} tries" in notice
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.status == "failing"

    clock.set(datetime(2027, 2, 2, 9, 0, tzinfo=UTC))
    (delivered,) = await clocked_bot.deliverer.run_due()
    assert delivered.outcome is Outcome.SENT
    assert len(card_titles(next(iter(digests_posted(sandbox, world.news).values())))) == 2


@pytest.mark.parametrize("parts_stored_before_the_error", [1, 3])
async def test_a_server_error_after_discord_stored_the_message_is_resolved_by_its_marker(
    sandbox: Sandbox,
    world: NewsWorld,
    clocked_bot: NewsBot,
    clock: SettableClock,
    corpus_dir,
    parts_stored_before_the_error: int,
) -> None:
    write_long_articles(corpus_dir, 10)
    await rescan_corpus(clocked_bot)
    await digest_command(sandbox, world, "subscribe", topic="Deep Dives", max_items=10)
    # The first parts go through; then one is stored by Discord but answered with a 503.
    stored = sandbox.faults.hold_next("POST", MESSAGES, skip=parts_stored_before_the_error - 1)
    posts = Posts(sandbox)

    clock.set(MONDAY_RUN)
    run = asyncio.create_task(clocked_bot.deliverer.run_due())
    await asyncio.wait_for(stored.arrived.wait(), 5)
    sandbox.faults.fail_next(1, status=503, method="POST", route=MESSAGES, stored=True)
    stored.release()
    (result,) = await asyncio.wait_for(run, 5)

    assert result.outcome is Outcome.RETRYING
    in_channel = sandbox.channel_messages(world.news)
    assert len(in_channel) == parts_stored_before_the_error
    recorded = await ledger_rows(clocked_bot, world.news.id)
    assert {message for message, _ in recorded} == {m.id for m in in_channel[:-1]}
    assert posts.since() == parts_stored_before_the_error

    clock.advance(minutes=1)
    (retried,) = await clocked_bot.deliverer.run_due()

    assert retried.outcome is Outcome.SENT and retried.articles == 10
    (parts,) = digests_posted(sandbox, world.news).values()
    assert len(parts) == 4
    marker = digest_marker(parts[0].content)
    assert [find_marker(p.content) for p in parts] == [(marker, n, 4) for n in range(4)]
    assert posts.since() == 4 - parts_stored_before_the_error  # the stored part not sent again
    titles = card_titles(parts)
    assert len(titles) == len(set(titles)) == 10
    recorded = await ledger_rows(clocked_bot, world.news.id)
    by_message = {m.id: len(m.embeds) for m in parts}
    assert sorted(message for message, _ in recorded) == sorted(
        message for message, count in by_message.items() for _ in range(count)
    )
    assert len({article for _, article in recorded}) == 10


@pytest.mark.slow
async def test_a_500_after_discord_stored_the_message_is_not_posted_twice_by_discord_py(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    # discord.py retries a 500 itself (after 1 s) with the same nonce and enforce_nonce, so
    # Discord answers with the message it stored the first time.
    await subscribe_news(sandbox, world)
    sandbox.faults.fail_next(1, status=500, method="POST", route=MESSAGES, stored=True)

    clock.set(MONDAY_RUN)
    (result,) = await clocked_bot.deliverer.run_due()

    assert result.outcome is Outcome.SENT
    (message,) = sandbox.channel_messages(world.news)
    assert sandbox.counters.statuses[500] == 1
    assert {m for m, _ in await ledger_rows(clocked_bot, world.news.id)} == {message.id}


async def test_another_http_error_fails_the_delivery_instead_of_retrying_it_forever(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await subscribe_news(sandbox, world)
    sandbox.faults.fail_next(1, status=400, method="POST", route=MESSAGES)
    posts = Posts(sandbox)

    clock.set(MONDAY_RUN)
    (result,) = await clocked_bot.deliverer.run_due()

    assert result.outcome is Outcome.FAILED and "Discord refused the message (400" in (
        result.reason or ""
    )
    for _ in range(5):
        clock.advance(minutes=10)
        assert await clocked_bot.deliverer.run_due() == []
    assert posts.since() == 2  # the attempt and the notice
    assert await clocked_bot.digests.pending_deliveries() == []


async def test_a_retry_racing_digest_now_records_each_article_once(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await subscribe_news(sandbox, world)
    sandbox.faults.fail_next(1, status=503, method="POST", route=MESSAGES)
    clock.set(MONDAY_RUN)
    (postponed,) = await clocked_bot.deliverer.run_due()
    assert postponed.outcome is Outcome.RETRYING
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None

    # The retry falls due while an admin runs /digest now: both want the pending delivery.
    clock.advance(minutes=1)
    await asyncio.gather(
        clocked_bot.deliverer.run_due(),
        clocked_bot.deliverer.deliver(digest, scheduled=False),
    )

    digests = digests_posted(sandbox, world.news)
    titles = [title for parts in digests.values() for title in card_titles(parts)]
    assert len(titles) == len(set(titles)) == 4  # the pending digest, then /digest now's
    recorded = await ledger_rows(clocked_bot, world.news.id)
    assert len(recorded) == len({article for _, article in recorded}) == 4


# Deleted channel, bot removed --------------------------------------------------------------------


async def test_a_deleted_channel_deactivates_its_digest(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await subscribe_news(sandbox, world)
    sandbox.delete_channel(world.news)

    async def inactive() -> bool:
        digest = await clocked_bot.digests.get(world.news.id)
        return digest is not None and digest.status == "inactive"

    await eventually(inactive)
    listed = await digest_command(sandbox, world, "list")
    value = listed.embeds[0]["fields"][0]["value"]
    assert "Not scheduled" in value and "Status: inactive — the channel was deleted." in value

    posts = Posts(sandbox)
    for day in (1, 2, 3):
        clock.set(datetime(2027, 2, day, 9, 0, tzinfo=UTC))
        assert await clocked_bot.deliverer.run_due() == []
    assert posts.since() == 0
    assert notices(sandbox, world) == []


async def test_the_bot_removed_from_the_server_deactivates_its_digests(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    await subscribe_news(sandbox, world)
    await digest_command(sandbox, world, "subscribe", topic="Robotics", channel=world.other)
    sandbox.remove_bot(world.guild)

    async def all_inactive() -> bool:
        digests = await clocked_bot.digests.for_guild(world.guild.id)
        return len(digests) == 2 and all(d.status == "inactive" for d in digests)

    await eventually(all_inactive)
    requests = sum(sandbox.counters.requests.values())
    for day in (1, 2, 3):
        clock.set(datetime(2027, 2, day, 9, 0, tzinfo=UTC))
        assert await clocked_bot.deliverer.run_due() == []
    assert sum(sandbox.counters.requests.values()) == requests  # not a single request
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.failure == "the bot left the server"

    # Invited back, an admin subscribing again brings the digest back.
    sandbox.add_bot(world.guild)
    await eventually(lambda: clocked_bot.get_guild(world.guild.id) is not None)
    await subscribe_news(sandbox, world)
    clock.set(datetime(2027, 2, 4, 9, 0, tzinfo=UTC))
    results = await clocked_bot.deliverer.run_due()
    assert [(r.channel_id, r.outcome) for r in results] == [(world.news.id, Outcome.SENT)]


# Hardening ------------------------------------------------------------------------------------


async def test_a_failing_digest_with_nothing_new_is_cleared_once_discord_takes_posts_again(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock, corpus_dir
) -> None:
    """The permission is back, but nothing is new: the next run asks Discord, and the digest
    is active again instead of showing a failure until something new comes."""
    write_long_articles(corpus_dir, 1, topic="Quiet Topic")
    await rescan_corpus(clocked_bot)
    await digest_command(sandbox, world, "subscribe", topic="Quiet Topic")
    sandbox.set_bot_permissions(world.news, EVERYTHING & ~Permission.SEND_MESSAGES)
    clock.set(MONDAY_RUN)
    (failed,) = await clocked_bot.deliverer.run_due()
    assert failed.outcome is Outcome.FAILED
    for path in (corpus_dir / "deep").iterdir():  # the one article goes: nothing new
        path.unlink()
    await rescan_corpus(clocked_bot)

    clock.set(datetime(2027, 2, 2, 9, 0, tzinfo=UTC))
    (still,) = await clocked_bot.deliverer.run_due()  # still refused: still failing
    digest = await clocked_bot.digests.get(world.news.id)
    assert still.outcome is Outcome.NOTHING_NEW and digest is not None
    assert digest.status == "failing"

    sandbox.set_bot_permissions(world.news, None)
    clock.set(datetime(2027, 2, 3, 9, 0, tzinfo=UTC))
    (cleared,) = await clocked_bot.deliverer.run_due()

    digest = await clocked_bot.digests.get(world.news.id)
    assert cleared.outcome is Outcome.NOTHING_NEW
    assert digest is not None and digest.status == "active" and digest.failure is None
    assert sandbox.channel_messages(world.news) == []


async def test_a_marker_behind_a_busy_channel_is_still_found(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    """Discord stored the digest but its answer was lost; before the retry, members wrote 150
    messages: the bot reads everything after the delivery started, finds its marker, and
    sends nothing again."""
    await subscribe_news(sandbox, world)
    sandbox.faults.fail_next(1, status=503, method="POST", route=MESSAGES, stored=True)
    clock.set(MONDAY_RUN)
    (postponed,) = await clocked_bot.deliverer.run_due()
    assert postponed.outcome is Outcome.RETRYING
    for number in range(150):
        post_as(sandbox, world.reader, world.news, f"chatter {number}")
    posts = Posts(sandbox)

    clock.advance(minutes=1)
    (retried,) = await clocked_bot.deliverer.run_due()

    assert retried.outcome is Outcome.SENT and posts.since() == 0
    (parts,) = digests_posted(sandbox, world.news).values()
    assert len(parts) == 1
    recorded = await ledger_rows(clocked_bot, world.news.id)
    assert {message for message, _ in recorded} == {parts[0].id}
