"""When things go wrong: failures inside a command, values Discord refuses, a slow database,
a "More" button with nothing left, and autocomplete over many topics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ainews.app import NewsBot
from ainews.cogs.corpus_watch import rescan_corpus
from ainews.tree import UNEXPECTED_ERROR_REPLY
from discord_sandbox.errors import SandboxUsageError
from discord_sandbox.interactions import InteractionResult
from discord_sandbox.sandbox import Sandbox
from discord_sandbox.state import Channel, Json, Message
from tests.helpers import NewsWorld, start_news_bot, write_article_file


class SlowQuery:
    """A catalog query that takes ``seconds`` longer than it would; counts its calls."""

    def __init__(self, query: Callable[..., Awaitable[Any]], seconds: float) -> None:
        self.query, self.seconds, self.calls = query, seconds, 0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        await asyncio.sleep(self.seconds)
        return await self.query(*args, **kwargs)


def assert_answered_in_time(result: InteractionResult, deadline: float = 3.0) -> None:
    assert result.rejections == []
    assert result.responded and result.response_time is not None
    assert result.response_time < deadline


async def more_button(
    sandbox: Sandbox, world: NewsWorld, topic: str, count: int = 10, channel: Channel | None = None
) -> tuple[InteractionResult, str]:
    """Post ``/news topic count`` (in #news); the result and its More button's custom id."""
    posted = await sandbox.invoke(
        "news",
        member=world.reader,
        channel=channel or world.news,
        options={"topic": topic, "count": count},
    )
    assert posted.original is not None and not posted.ephemeral
    (custom_id,) = posted.original.custom_ids()
    return posted, custom_id


# -- an unexpected failure ---------------------------------------------------------------


async def test_an_unexpected_failure_is_logged_with_the_command_and_answered_politely(
    sandbox: Sandbox,
    world: NewsWorld,
    news_bot: NewsBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(**_: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(news_bot.catalog, "newest", broken)
    with caplog.at_level(logging.ERROR, logger="ainews"):
        result = await sandbox.invoke(
            "news",
            member=world.reader,
            channel=world.news,
            options={"topic": "Robotics", "count": 3},
        )

    assert result.ephemeral and result.content == UNEXPECTED_ERROR_REPLY
    assert "disk" not in (result.content or "")
    assert sandbox.channel_messages(world.news) == []
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.name == "ainews.tree"
    message = record.getMessage()
    assert "/news" in message
    assert "'topic'" in message and "'Robotics'" in message
    assert "'count'" in message and "3" in message
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


async def test_an_unexpected_failure_behind_the_more_button_is_answered_politely(
    sandbox: Sandbox,
    world: NewsWorld,
    news_bot: NewsBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    posted, custom_id = await more_button(sandbox, world, "AI", count=3)

    async def broken(**_: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(news_bot.catalog, "newest", broken)
    with caplog.at_level(logging.ERROR, logger="ainews"):
        clicked = await sandbox.click(posted.original, custom_id, member=world.reader)

    assert clicked.ephemeral and clicked.content == UNEXPECTED_ERROR_REPLY
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and custom_id in errors[0].getMessage()
    assert errors[0].exc_info is not None and isinstance(errors[0].exc_info[1], RuntimeError)


# -- values Discord refuses, and values it lets through -------------------------------------


@pytest.mark.parametrize("command", ["news", "latest"])
@pytest.mark.parametrize("count", [0, 11, -1])
async def test_a_count_outside_1_to_10_is_refused_by_discord_itself(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot, command: str, count: int
) -> None:
    (definition,) = [c for c in sandbox.registered_commands(world.guild) if c["name"] == command]
    (option,) = [o for o in definition["options"] if o["name"] == "count"]
    assert (option["min_value"], option["max_value"]) == (1, 10)

    options: dict[str, str | int] = {"count": count}
    if command == "news":
        options["topic"] = "AI"
    with pytest.raises(SandboxUsageError, match="count"):
        await sandbox.invoke(command, member=world.reader, channel=world.news, options=options)
    assert sandbox.channel_messages(world.news) == []


async def test_an_empty_search_is_refused_and_a_blank_one_is_explained(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    with pytest.raises(SandboxUsageError, match="query"):
        await sandbox.invoke(
            "search", member=world.reader, channel=world.news, options={"query": ""}
        )

    for blank in (" ", "   \t  "):
        result = await sandbox.invoke(
            "search", member=world.reader, channel=world.news, options={"query": blank}
        )
        assert result.rejections == []
        assert result.ephemeral and result.content
        assert result.content.startswith("Type a word or two to search for")
        assert "“”" not in result.content  # it does not quote an empty query
    assert sandbox.channel_messages(world.news) == []


# -- a slow database -------------------------------------------------------------------------


async def cards_shown(result: InteractionResult) -> list[Json]:
    """The cards the member ends up seeing: at once, or once "thinking…" is filled in."""
    shown = await result.wait_for_deferred(within=5)
    assert not shown.ephemeral
    return shown.embeds


@pytest.mark.slow
async def test_every_command_answers_in_time_while_queries_take_2_5_s(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    tech = sandbox.create_channel(world.guild, "tech")
    posted, custom_id = await more_button(sandbox, world, "AI", count=3, channel=tech)
    newest = SlowQuery(news_bot.catalog.newest, 2.5)
    search = SlowQuery(news_bot.catalog.search, 2.5)
    monkeypatch.setattr(news_bot.catalog, "newest", newest)
    monkeypatch.setattr(news_bot.catalog, "search", search)

    results = await asyncio.gather(
        sandbox.invoke(
            "news", member=world.reader, channel=world.news, options={"topic": "Robotics"}
        ),
        sandbox.invoke("latest", member=world.admin, channel=world.other),
        sandbox.invoke(
            "search", member=world.admin, channel=world.news, options={"query": "robot"}
        ),
        sandbox.click(posted.original, custom_id, member=world.reader),
    )

    for result in results:
        assert_answered_in_time(result)
        assert await cards_shown(result)
    assert (newest.calls, search.calls) == (3, 1)


@pytest.mark.slow
async def test_a_query_slower_than_discords_3_s_still_gets_an_answer(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(news_bot.catalog, "newest", SlowQuery(news_bot.catalog.newest, 3.5))

    result = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": "Robotics"}
    )

    assert_answered_in_time(result)
    assert len(await cards_shown(result)) == 5
    assert result.rejections == []


@pytest.mark.slow
async def test_two_members_asking_in_one_channel_both_get_an_answer_and_no_repeats(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each query is well under 3 s, but the second waits for the channel's posting lock.
    monkeypatch.setattr(news_bot.catalog, "newest", SlowQuery(news_bot.catalog.newest, 1.6))

    first, second = await asyncio.gather(
        sandbox.invoke("news", member=world.reader, channel=world.news, options={"topic": "AI"}),
        sandbox.invoke("latest", member=world.admin, channel=world.news),
    )

    assert_answered_in_time(first)
    assert_answered_in_time(second)
    seen = [card["url"] for result in (first, second) for card in await cards_shown(result)]
    assert len(seen) == 10 and len(set(seen)) == 10
    assert first.rejections == [] and second.rejections == []


@pytest.mark.slow
async def test_a_slow_caught_up_answer_stays_private(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = await more_button(sandbox, world, "Microsoft AI")
    monkeypatch.setattr(news_bot.catalog, "newest", SlowQuery(news_bot.catalog.newest, 2.0))

    again = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": "Microsoft AI"}
    )

    assert_answered_in_time(again)

    def caught_up() -> list[Message]:
        answers = [again.original, *again.followups]
        return [m for m in answers if m is not None and "caught up" in m.content]

    await again.wait_until(lambda: bool(caught_up()), 5)
    assert all(m.ephemeral and not m.deleted for m in caught_up())
    assert sandbox.channel_messages(world.news) == [first.original]


# -- the More button with nothing left ---------------------------------------------------------


async def test_more_on_a_topic_that_is_all_posted_says_caught_up(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    posted, custom_id = await more_button(sandbox, world, "Microsoft AI")
    assert posted.original is not None

    clicked = await sandbox.click(posted.original, custom_id, member=world.reader)

    assert clicked.rejections == []
    assert clicked.ephemeral and "caught up on Microsoft AI" in (clicked.content or "")
    assert f"{len(posted.embeds)} articles were already posted" in (clicked.content or "")
    assert sandbox.channel_messages(world.news) == [posted.original]


def delete_articles_on(corpus: Path, topic: str) -> None:
    for path in corpus.glob("*.md"):
        if f"- {topic}\n" in path.read_text(encoding="utf-8"):
            path.unlink()


async def test_more_on_a_topic_whose_articles_are_gone_says_so(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot, corpus_dir: Path
) -> None:
    posted, custom_id = await more_button(sandbox, world, "Microsoft AI", count=1)
    assert posted.original is not None
    delete_articles_on(corpus_dir, "Microsoft AI")
    await rescan_corpus(news_bot)

    clicked = await sandbox.click(posted.original, custom_id, member=world.reader)

    assert clicked.rejections == []
    assert clicked.ephemeral and "no articles any more" in (clicked.content or "")


# -- autocomplete over many topics -------------------------------------------------------------


async def test_autocomplete_offers_at_most_25_topics_quickly_among_60(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path
) -> None:
    longest = "Many Topics " + "x" * 88  # 100 characters, the most a topic may have
    published = datetime(2026, 6, 1, tzinfo=UTC)
    for number in range(60):
        write_article_file(
            corpus_dir / "many-topics",
            f"topic-{number:02d}",
            topics=[f"Topic {number:02d}", longest],
            publishedDateTime=published + timedelta(hours=number),
        )

    async with start_news_bot(sandbox, world.settings):
        for typed, first in [
            ("", [longest, "AI"]),
            ("topic", [f"Topic {n:02d}" for n in range(25)]),
            ("topic 4", [f"Topic {n}" for n in range(40, 50)]),
            ("many", [longest]),
        ]:
            result = await sandbox.autocomplete(
                "news", focused="topic", value=typed, member=world.reader, channel=world.news
            )
            assert_answered_in_time(result, deadline=0.5)
            values = [choice["value"] for choice in result.choices or []]
            assert 1 <= len(values) <= 25
            assert values[: len(first)] == first

        picked = await sandbox.invoke(
            "news", member=world.reader, channel=world.news, options={"topic": values[0]}
        )
        assert not picked.ephemeral and len(picked.embeds) == 5
