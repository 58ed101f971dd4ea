"""Where a digest goes and whom it pings, through the sandbox: a role chosen by the admin (and
nothing else, ever), forum posts, threads, and announcement channels that publish."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ainews.app import NewsBot
from ainews.cogs.corpus_watch import rescan_corpus
from ainews.delivery import PUBLISHES_PER_HOUR, Outcome
from ainews.digest import find_marker
from discord_sandbox import ChannelType, Permission, RateLimits, SandboxConfig
from discord_sandbox.sandbox import Sandbox
from tests.helpers import (
    NewsWorld,
    SettableClock,
    card_titles,
    digest_command,
    digests_posted,
    write_long_articles,
)

MONDAY_RUN = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """A dozen digests in a row to one channel: its message bucket (5 per 5 s) would make
    discord.py wait real seconds between them."""
    return SandboxConfig(rate_limits=RateLimits(channel_messages_limit=50))


# A role to ping --------------------------------------------------------------------------------


async def test_the_first_message_pings_the_chosen_role_and_nothing_else(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock, corpus_dir
) -> None:
    write_long_articles(corpus_dir, 10)
    await rescan_corpus(clocked_bot)
    watchers = sandbox.create_role(world.guild, "AI Watchers", mentionable=True)
    sandbox.expect_pings(watchers)
    subscribed = await digest_command(
        sandbox, world, "subscribe", topic="Deep Dives", max_items=10, role=watchers
    )
    assert f"pinging <@&{watchers.id}>" in (subscribed.content or "")
    assert sandbox.pinged() == []  # the reply names the role, and pings nobody

    clock.set(MONDAY_RUN)
    (result,) = await clocked_bot.deliverer.run_due()

    assert result.outcome is Outcome.SENT
    (parts,) = digests_posted(sandbox, world.news).values()
    assert len(parts) > 1
    first, *later = parts
    assert first.content.startswith(f"<@&{watchers.id}> **AI news digest**")
    assert first.allowed_mentions == {"parse": [], "roles": [watchers.id]}  # that role only
    assert sandbox.pinged() == [first]
    assert all(part.allowed_mentions == {"parse": []} for part in later)
    assert sandbox.counters.mention_violations == []


async def test_everyone_and_roles_the_bot_cannot_mention_are_refused_with_the_reason(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    await digest_command(sandbox, world, "subscribe", topic="AI")
    quiet = sandbox.create_role(world.guild, "Quiet", mentionable=False)

    everyone = await digest_command(sandbox, world, "mention", role=world.guild.everyone)
    unmentionable = await digest_command(sandbox, world, "mention", role=quiet)

    assert everyone.ephemeral and "@everyone pings the whole server" in (everyone.content or "")
    assert unmentionable.ephemeral
    assert "not mentionable, and the bot lacks the Mention Everyone permission" in (
        unmentionable.content or ""
    )
    digest = await clocked_bot.digests.get(world.news.id)
    assert digest is not None and digest.mention_role_id is None

    # With Mention Everyone in the channel the bot may ping it; when the role is deleted or
    # the permission goes, /digest list says so.
    sandbox.set_bot_permissions(
        world.news, Permission.everyone_default() | Permission.MENTION_EVERYONE
    )
    allowed = await digest_command(sandbox, world, "mention", role=quiet)
    assert "now pings" in (allowed.content or "")
    sandbox.set_bot_permissions(world.news, None)
    listed = await digest_command(sandbox, world, "list")
    assert "it cannot, the role Quiet is not mentionable" in listed.embeds[0]["fields"][0]["value"]

    stopped = await digest_command(sandbox, world, "mention")
    assert "pings nobody now" in (stopped.content or "")


# Forums, threads, announcement channels --------------------------------------------------------


async def test_a_forum_digest_is_one_post_tagged_by_topic_with_its_parts_inside(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock, corpus_dir
) -> None:
    write_long_articles(corpus_dir, 10)
    await rescan_corpus(clocked_bot)
    forum = sandbox.create_forum(
        world.guild, "news-forum", tags=["Robotics", "Deep Dives"], require_tag=True
    )
    await digest_command(
        sandbox, world, "subscribe", topic="Deep Dives", max_items=10, channel=forum
    )

    clock.set(MONDAY_RUN)
    (result,) = await clocked_bot.deliverer.run_due()

    assert result.outcome is Outcome.SENT and result.articles == 10
    (post,) = sandbox.forum_posts(forum)
    assert post.name.startswith("AI news — 1 February 2027 · Deep Dives") and len(post.name) <= 100
    assert post.applied_tags == [forum.tag("Deep Dives").id]
    messages = sandbox.channel_messages(post)
    assert messages[0].id == post.id  # the starter message is the first part
    markers = [find_marker(m.content) for m in messages]
    assert [mark[1:] for mark in markers if mark] == [
        (n, len(messages)) for n in range(len(messages))
    ]
    assert len(set(card_titles(messages))) == 10

    # The next digest is a new post; a forum that requires a tag none matches gets its first.
    other = sandbox.create_forum(world.guild, "pets", tags=["Cats", "Dogs"], require_tag=True)
    await digest_command(sandbox, world, "subscribe", topic="AI", max_items=2, channel=other)
    await digest_command(sandbox, world, "now", channel=other)
    (pet_post,) = sandbox.forum_posts(other)
    assert pet_post.applied_tags == [other.tag("Cats").id]


async def test_a_thread_digest_reopens_an_archived_thread_and_a_locked_one_fails_with_why(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock
) -> None:
    archived = sandbox.create_thread(world.news, "daily-ai", archived=True)
    locked = sandbox.create_thread(world.news, "locked-ai", archived=True, locked=True)
    await digest_command(sandbox, world, "subscribe", topic="AI", max_items=2, channel=archived)
    await digest_command(sandbox, world, "subscribe", topic="AI", max_items=2, channel=locked)

    clock.set(MONDAY_RUN)
    results = {r.channel_id: r for r in await clocked_bot.deliverer.run_due()}

    assert results[archived.id].outcome is Outcome.SENT
    assert not archived.archived and len(sandbox.channel_messages(archived)) == 1
    assert results[locked.id].outcome is Outcome.FAILED
    assert "the thread is locked or archived" in (results[locked.id].reason or "")
    assert sandbox.channel_messages(locked) == []


async def test_an_announcement_digest_is_published_within_discords_hourly_limit(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot
) -> None:
    announcements = sandbox.create_channel(
        world.guild, "announcements", type=ChannelType.ANNOUNCEMENT
    )
    refused = await digest_command(
        sandbox, world, "subscribe", topic="AI", max_items=1, publish=True
    )
    assert refused.ephemeral and "Only an announcement channel's messages" in (
        refused.content or ""
    )
    await digest_command(
        sandbox, world, "subscribe", topic="AI", max_items=1, publish=True, channel=announcements
    )

    for _ in range(PUBLISHES_PER_HOUR + 2):
        await digest_command(sandbox, world, "now", channel=announcements)

    sent = [m for m in sandbox.channel_messages(announcements) if find_marker(m.content)]
    assert len(sent) == PUBLISHES_PER_HOUR + 2
    assert [m.id for m in sandbox.crossposts(announcements)] == [
        m.id for m in sent[:PUBLISHES_PER_HOUR]
    ]
    assert sandbox.counters.requests[
        "POST /channels/{channel_id}/messages/{message_id}/crosspost"
    ] == (PUBLISHES_PER_HOUR)  # never tried past the limit
    listed = await digest_command(sandbox, world, "list")
    field = next(f for f in listed.embeds[0]["fields"] if f["name"] == "#announcements")
    assert "⚠️ Publishing: a message was not published" in field["value"]


async def test_changed_cards_are_edited_in_forum_posts_and_compact_lists_stay_compact(
    sandbox: Sandbox, world: NewsWorld, clocked_bot: NewsBot, clock: SettableClock, corpus_dir
) -> None:
    write_long_articles(corpus_dir, 3)
    await rescan_corpus(clocked_bot)
    forum = sandbox.create_forum(world.guild, "news-forum", tags=["Deep Dives"])
    await digest_command(
        sandbox, world, "subscribe", topic="Deep Dives", max_items=3, channel=forum
    )
    await digest_command(
        sandbox, world, "subscribe", topic="Deep Dives", max_items=3, style="compact"
    )
    clock.set(MONDAY_RUN)
    assert {r.outcome for r in await clocked_bot.deliverer.run_due()} == {Outcome.SENT}
    (post,) = sandbox.forum_posts(forum)
    (compact,) = sandbox.channel_messages(world.news)

    path = next((corpus_dir / "deep").iterdir())
    old_title = path.read_text(encoding="utf-8").split('title: "', 1)[1].split('"', 1)[0]
    path.write_text(
        path.read_text(encoding="utf-8").replace(old_title, "A rewritten title"), encoding="utf-8"
    )
    await rescan_corpus(clocked_bot)

    assert await clocked_bot.deliverer.edit_changed_cards() == 2
    titles = [embed["title"] for m in sandbox.channel_messages(post) for embed in m.embeds]
    assert "A rewritten title" in titles and old_title not in titles
    (list_embed,) = compact.embeds
    assert "A rewritten title" in list_embed["description"]
    assert old_title[:60] not in list_embed["description"]
    assert compact.edited_at is not None
