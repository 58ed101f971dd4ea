"""/news, /latest, /topics, /search and the More button, as a member uses them in the sandbox."""

from __future__ import annotations

import pytest

from ainews.app import NewsBot
from discord_sandbox.sandbox import Sandbox
from tests.helpers import NewsWorld, start_news_bot


def titles(embeds: list[dict]) -> list[str]:
    return [embed["title"] for embed in embeds]


def posted_titles(sandbox: Sandbox, world: NewsWorld) -> list[str]:
    return [
        embed["title"]
        for message in sandbox.channel_messages(world.news)
        for embed in message.embeds
    ]


async def test_news_posts_newest_cards_of_the_topic(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    result = await sandbox.invoke(
        "news",
        member=world.reader,
        channel=world.news,
        options={"topic": "ai hardware", "count": 3},
    )

    assert not result.ephemeral
    assert len(result.embeds) == 3
    assert all("AI Hardware" in embed["footer"]["text"] for embed in result.embeds)
    stamps = [embed["timestamp"] for embed in result.embeds]
    assert stamps == sorted(stamps, reverse=True)
    assert result.response_time < 3
    assert result.original.allowed_mentions == {"parse": []}


async def test_news_never_repeats_a_story_in_a_channel(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    seen: list[str] = []
    for _ in range(5):
        result = await sandbox.invoke(
            "news", member=world.reader, channel=world.news, options={"topic": "AI", "count": 10}
        )
        if result.ephemeral:
            assert "caught up" in result.content
            break
        seen += titles(result.embeds)
    else:
        pytest.fail("never caught up")

    assert len(seen) == len(set(seen))
    # The Velmora AI-safety-bill story has three sources in the sample corpus: one is shown.
    bill_story = ("passes AI safety bill", "AI safety law means", "AI audit rules")
    assert sum(any(part in title for part in bill_story) for title in seen) == 1
    stories = await news_bot.database.fetch(
        "SELECT count(DISTINCT a.story_id) FROM ledger l JOIN articles a ON a.id = l.article_id"
        " WHERE l.channel_id = ?",
        (world.news.id,),
    )
    assert stories[0][0] == len(seen)


async def test_caught_up_answer_says_how_to_see_again_and_include_seen_does(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    first = await sandbox.invoke(
        "news",
        member=world.reader,
        channel=world.news,
        options={"topic": "Microsoft AI", "count": 10},
    )
    again = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": "Microsoft AI"}
    )
    assert again.ephemeral
    assert "caught up" in again.content and "include_seen:True" in again.content
    assert f"{len(first.embeds)} articles" in again.content

    repeat = await sandbox.invoke(
        "news",
        member=world.reader,
        channel=world.news,
        options={"topic": "Microsoft AI", "count": 10, "include_seen": True},
    )
    assert not repeat.ephemeral
    assert titles(repeat.embeds) == titles(first.embeds)


async def test_other_channel_has_its_own_ledger(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    here = await sandbox.invoke("latest", member=world.reader, channel=world.news, options={})
    there = await sandbox.invoke("latest", member=world.reader, channel=world.other, options={})
    assert titles(here.embeds) == titles(there.embeds)


async def test_private_answers_only_the_member_and_records_nothing(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    private = await sandbox.invoke(
        "news",
        member=world.reader,
        channel=world.news,
        options={"topic": "Robotics", "private": True},
    )
    assert private.ephemeral and private.embeds
    assert sandbox.channel_messages(world.news) == []
    public = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": "Robotics"}
    )
    assert titles(public.embeds) == titles(private.embeds)


async def test_unknown_topic_suggests_close_ones(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    result = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": "robotcs"}
    )
    assert result.ephemeral
    assert "no topic" in result.content and "Robotics" in result.content


async def test_topic_autocomplete_prefix_fuzzy_and_bounded(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    result = await sandbox.autocomplete(
        "news", focused="topic", value="ai", member=world.reader, channel=world.news
    )
    names = [choice["value"] for choice in result.choices]
    assert names[0] == "AI"  # busiest prefix match first
    assert "AI Hardware" in names and len(names) <= 25

    fuzzy = await sandbox.autocomplete(
        "news", focused="topic", value="healthcare", member=world.reader, channel=world.news
    )
    assert [c["value"] for c in fuzzy.choices][:1] == ["Healthcare AI"]


async def test_topics_lists_every_topic_with_counts(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    result = await sandbox.invoke("topics", member=world.reader, channel=world.news, options={})
    assert result.ephemeral
    text = "\n".join(embed["description"] for embed in result.embeds)
    for topic in await news_bot.catalog.topics():
        assert f"**{topic.name}** — {topic.article_count} article" in text


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "AI AND",
        "OR",
        "NOT robots",
        "robot*",
        "NEAR(a b",
        "title:chip",
        "!!!",
        "x" * 300,
        "السيارات ذاتية القيادة",
        "🤖 robots",
    ],
)
async def test_search_never_fails_on_fts_syntax(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot, query: str
) -> None:
    result = await sandbox.invoke(
        "search", member=world.reader, channel=world.news, options={"query": query}
    )
    assert result.response_type is not None
    assert result.rejections == []
    if result.ephemeral:
        assert "No articles match" in result.content or "Type a word" in result.content


async def test_search_ranks_title_matches_first(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    result = await sandbox.invoke(
        "search", member=world.reader, channel=world.news, options={"query": "laundry robot"}
    )
    assert not result.ephemeral
    assert "laundry" in result.embeds[0]["title"].lower()


async def test_more_button_posts_the_next_unseen_page_even_after_a_restart(
    sandbox: Sandbox, world: NewsWorld, news_bot: NewsBot
) -> None:
    first = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": "AI", "count": 3}
    )
    message = sandbox.channel_messages(world.news)[-1]
    (custom_id,) = message.custom_ids()

    await news_bot.close()
    async with start_news_bot(sandbox, world.settings):
        clicked = await sandbox.click(message, custom_id, member=world.reader)
        assert not clicked.ephemeral
        assert len(clicked.embeds) == 3
        assert not set(titles(clicked.embeds)) & set(titles(first.embeds))
