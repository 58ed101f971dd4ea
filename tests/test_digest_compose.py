"""Composing a digest: header, cards, overflow line and packing, as plain functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ainews.cards import CHARACTERS_PER_MESSAGE, EMBEDS_PER_MESSAGE
from ainews.corpus.article import Article, Provider, RelatedCoverage
from ainews.digest import (
    MAX_OVERFLOW_CHARS,
    compose_digest,
    find_marker,
    overflow_line,
    part_embeds,
    with_marker,
)
from ainews.store.catalog import StoredArticle

PARIS = ZoneInfo("Europe/Paris")
# 23:30 UTC on Saturday 27 March 2027 is already Sunday 28 March in Paris.
LOCAL_NOW = datetime(2027, 3, 27, 23, 30, tzinfo=UTC).astimezone(PARIS)


def stored(
    number: int, *, long: bool = False, topics: tuple[str, ...] = ("Robotics",)
) -> StoredArticle:
    title = f"Article {number}: robots learn to fold laundry"
    excerpt = f"Excerpt {number}. A home robot folds towels."
    related: tuple[RelatedCoverage, ...] = ()
    if long:
        title = (title + " and a great deal more " * 20)[:300]
        excerpt = "word " * 800
        related = tuple(
            RelatedCoverage(
                title=f"Related coverage {n} of article {number} " + "x" * 60,
                url=f"https://related.example.com/{number}/{n}/" + "p" * 200,
                provider=Provider(f"Provider {n}"),
            )
            for n in range(3)
        )
    article = Article(
        id=f"id-{number}",
        title=title,
        url=f"https://news.example.com/{number}",
        excerpt=excerpt,
        published_at=datetime(2027, 3, 1, tzinfo=UTC) - timedelta(hours=number),
        provider=Provider("Example News", "news.example.com"),
        topics=topics,
        related=related,
    )
    return StoredArticle(article, f"story-{number}")


def test_header_has_the_local_date_the_count_and_the_topic_names() -> None:
    parts = compose_digest(
        [stored(1), stored(2), stored(3)],
        {},
        topic_names=["Robotics", "AI Hardware"],
        local_now=LOCAL_NOW,
    )
    assert len(parts) == 1
    header = parts[0].text.splitlines()[0]
    assert header == (
        "**AI news digest** — Sunday 28 March 2027 · 3 new articles on Robotics, AI Hardware"
    )


def test_header_counts_one_article_in_the_singular() -> None:
    (part,) = compose_digest([stored(1)], {}, topic_names=["Robotics"], local_now=LOCAL_NOW)
    assert "· 1 new article on Robotics" in part.text
    assert "articles" not in part.text


def test_many_topics_are_summed_up_in_the_header() -> None:
    names = [f"Topic {n}" for n in range(8)]
    (part,) = compose_digest([stored(1)], {}, topic_names=names, local_now=LOCAL_NOW)
    assert "Topic 0, Topic 1, Topic 2, Topic 3, Topic 4 and 3 more topics" in part.text
    assert "Topic 5" not in part.text


def test_cards_are_the_chosen_articles_in_order() -> None:
    chosen = [stored(n) for n in range(1, 6)]
    (part,) = compose_digest(chosen, {}, topic_names=["Robotics"], local_now=LOCAL_NOW)
    assert part.articles == tuple(chosen)
    assert [embed.url for embed in part_embeds(part)] == [c.article.url for c in chosen]


def test_overflow_line_sums_up_each_topic_that_did_not_fit() -> None:
    parts = compose_digest(
        [stored(1)],
        {"Robotics": 3, "AI Hardware": 0, "AI Policy": 12},
        topic_names=["Robotics", "AI Hardware", "AI Policy"],
        local_now=LOCAL_NOW,
    )
    lines = parts[-1].text.splitlines()
    assert lines[-1] == "+3 more on Robotics · +12 more on AI Policy — /news shows them"
    assert "AI Hardware" not in lines[-1]


def test_no_overflow_no_overflow_line() -> None:
    (part,) = compose_digest(
        [stored(1)], {"Robotics": 0}, topic_names=["Robotics"], local_now=LOCAL_NOW
    )
    assert "more on" not in part.text
    assert len(part.text.splitlines()) == 1


def test_overflow_line_is_bounded() -> None:
    line = overflow_line({f"A rather long topic name number {n}": n + 1 for n in range(200)})
    assert len(line) <= MAX_OVERFLOW_CHARS
    assert line.startswith("+1 more on A rather long topic name number 0 · +2 more on")


def test_nothing_chosen_means_no_message() -> None:
    assert compose_digest([], {"Robotics": 5}, topic_names=["Robotics"], local_now=LOCAL_NOW) == []


def test_markdown_in_topic_names_is_escaped() -> None:
    names = ["**Bold** AI", "_Under_", "`code`", "~~gone~~"]
    parts = compose_digest(
        [stored(1)],
        {"**Bold** AI": 2, "`code`": 1},
        topic_names=names,
        local_now=LOCAL_NOW,
    )
    text = parts[0].text
    assert r"\*\*Bold\*\* AI" in text and r"\_Under\_" in text
    assert r"\`code\`" in text and r"\~\~gone\~\~" in text
    assert "+2 more on \\*\\*Bold\\*\\* AI · +1 more on \\`code\\`" in text
    assert "**Bold**" not in text.replace("**AI news digest**", "")


@pytest.mark.parametrize(("count", "long"), [(10, True), (25, True), (25, False), (12, False)])
def test_packing_respects_ten_embeds_and_six_thousand_characters(count: int, long: bool) -> None:
    chosen = [stored(n, long=long) for n in range(count)]
    parts = compose_digest(chosen, {"Robotics": 7}, topic_names=["Robotics"], local_now=LOCAL_NOW)
    assert len(parts) >= 2
    for part in parts:
        embeds = part_embeds(part)
        assert 1 <= len(embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(embed) for embed in embeds) <= CHARACTERS_PER_MESSAGE
        content = with_marker(part.text, "0123456789ab", 0, len(parts))
        assert len(content) <= 2_000
    # Every article exactly once, in order; the header first, the overflow line last.
    assert [item for part in parts for item in part.articles] == chosen
    assert parts[0].text.startswith("**AI news digest**")
    assert all("AI news digest" not in part.text for part in parts[1:])
    assert parts[-1].text.endswith("+7 more on Robotics — /news shows them")
    assert all("more on" not in part.text for part in parts[:-1])


def test_ten_long_cards_need_more_than_one_message_but_small_ones_fit_in_one() -> None:
    assert (
        len(
            compose_digest(
                [stored(n, long=True) for n in range(10)],
                {},
                topic_names=["R"],
                local_now=LOCAL_NOW,
            )
        )
        >= 2
    )
    assert (
        len(
            compose_digest(
                [stored(n) for n in range(10)], {}, topic_names=["R"], local_now=LOCAL_NOW
            )
        )
        == 1
    )


@pytest.mark.parametrize(
    ("text", "part", "parts"),
    [("**AI news digest** — header", 0, 3), ("", 2, 3), ("line one\nline two", 0, 1)],
)
def test_marker_round_trip(text: str, part: int, parts: int) -> None:
    content = with_marker(text, "a1b2c3d4e5f6", part, parts)
    assert content.startswith(text)
    assert content.splitlines()[-1] == f"-# digest ref `a1b2c3d4e5f6` · {part + 1}/{parts}"
    assert find_marker(content) == ("a1b2c3d4e5f6", part, parts)


@pytest.mark.parametrize(
    "content",
    [
        "",
        "just a message",
        "-# digest ref `a1b2c3d4e5f6` · 1/2\nsomething after the marker",
        "-# digest ref `NOT-HEX!` · 1/2",
        "-# digest ref `abc` · 1/2",  # too short to be one of ours
        "> -# digest ref `a1b2c3d4e5f6` · 1/2 quoted and trailing",
    ],
)
def test_find_marker_ignores_other_messages(content: str) -> None:
    assert find_marker(content) is None


def test_a_video_is_a_part_of_its_own_with_its_link_before_the_marker() -> None:
    watch = "https://www.youtube.com/watch?v=Zx9aYc1uQ2E"
    first, second = stored(1), stored(2)
    video = StoredArticle(
        replace(second.article, type="video", url=watch, video_url=watch), second.story_id
    )

    parts = compose_digest(
        [first, video], {"Robotics": 3}, topic_names=["Robotics"], local_now=LOCAL_NOW
    )

    assert [len(part.articles) for part in parts] == [1, 1]
    assert parts[0].text.startswith("**AI news digest**") and watch not in parts[0].text
    assert parts[1].text.splitlines() == ["+3 more on Robotics — /news shows them", watch]
    marked = with_marker(parts[1].text, "abc123abc123", 1, 2)
    assert find_marker(marked) == ("abc123abc123", 1, 2)
