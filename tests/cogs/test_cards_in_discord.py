"""Hostile article text, from the corpus folder to what a channel shows.

Curators' files go through the real pipeline (ingest, the store, the cards, packing, the
sandbox's Discord validation): the channel must show the text as written, ping nobody, render no
markdown or masked link from article text, stay inside Discord's limits, and record in the ledger
every article it showed. A ``javascript:`` URL never gets that far: it is dropped at ingest, with a
warning, and its article is served without it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ainews.app import NewsBot
from ainews.corpus.urls import article_id_for
from discord_sandbox.interactions import InteractionResult
from discord_sandbox.sandbox import Sandbox
from discord_sandbox.state import Json, Message
from discord_sandbox.validation import embed_text_length
from tests.helpers import NewsWorld, start_news_bot, write_article_file

HOSTILE = "Hostile Cards"
LONG_READS = "Long Reads"
LONG_ARTICLES = 12

MENTION_TITLE = "@everyone free GPUs <@123> @here"
MENTION_EXCERPT = (
    "Claim yours now <@&456789012345678901> <@!789012345678901234> @everyone @here,"
    " or ask <#42> and </news:1>."
)
MARKDOWN_TITLE = "**Bold** claims, __underlined__ `code` and [a link](https://evil.example)"
MARKDOWN_EXCERPT = (
    "# heading [click](https://evil.example) **bold** ```code``` ||spoiler|| "
    "~~struck~~ _slanted_ > quoted 1. listed <t:1700000000:R>"
)
RTL_TITLE = "🤖 الذكاء الاصطناعي يكتب الأخبار — בינה מלאכותית כותבת חדשות 🚀"
RTL_EXCERPT = "مرحبا بالعالم 👋 نموذج جديد للغة العربية. שלום עולם 🌍 מודל חדש לעברית. 👩‍💻"
#: Related coverage whose provider name is itself a masked link: the card may link only the URL.
RELATED_URL = "https://other.example.org/coverage"

#: A mention, a channel/command/timestamp token or markdown that Discord would render.
RAW_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d{17,20}>|<[#/]|<t:")
UNESCAPED_MARKUP = re.compile(r"(?<!\\)[*_`|~]|(?<!\\)\](?=\()|^[#>]")


@dataclass(frozen=True)
class Written:
    """What a curator wrote in one file, to compare the cards against."""

    title: str
    url: str
    excerpt: str
    provider: str
    topics: list[str]
    published: datetime


@dataclass
class HostileCorpus:
    """The files written into the corpus, by webUrl."""

    folder: Path
    valid: dict[str, Written] = field(default_factory=dict)

    def add(self, name: str, **fields: Any) -> None:
        path = write_article_file(self.folder, name, **fields)
        url = f"https://news.example.com/tech/{path.stem}"
        provider = fields.get("provider", {"name": "Example News"})["name"]
        self.valid[url] = Written(
            fields["title"],
            url,
            fields["excerpt"],
            provider,
            fields["topics"],
            fields["publishedDateTime"],
        )

    def written(self, embed: Json) -> Written:
        return self.valid[embed["url"]]


def long_text(words: int, seed: str) -> str:
    """Plain words with Arabic, Hebrew and emoji mixed in, ``words`` long."""
    vocabulary = [seed, "models", "عربي", "chips", "עברית", "🤖", "robots", "datacentres", "🚀"]
    return " ".join(vocabulary[i % len(vocabulary)] for i in range(words))


@pytest.fixture
def hostile_corpus(corpus_dir: Path) -> HostileCorpus:
    """The sample corpus plus hostile files, written before the bot starts."""
    corpus = HostileCorpus(corpus_dir)
    moment = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    corpus.add(
        "mentions",
        title=MENTION_TITLE,
        excerpt=MENTION_EXCERPT,
        topics=[HOSTILE],
        publishedDateTime=moment,
    )
    corpus.add(
        "markdown",
        title=MARKDOWN_TITLE,
        excerpt=MARKDOWN_EXCERPT,
        topics=[HOSTILE, "AI"],
        publishedDateTime=moment - timedelta(hours=1),
        related=[
            {
                "title": "[Phish](https://evil.example) coverage",
                "webUrl": RELATED_URL,
                "provider": {"name": "[click](https://evil.example) **Wire**"},
            }
        ],
    )
    corpus.add(
        "rtl-emoji",
        title=RTL_TITLE,
        excerpt=RTL_EXCERPT,
        topics=[HOSTILE, "الذكاء الاصطناعي"],
        publishedDateTime=moment - timedelta(hours=2),
        provider={"name": "أخبار 🤖 חדשות"},
    )
    for number in range(LONG_ARTICLES):
        title, excerpt = long_text(70, f"Quarry{number:02d}")[:400], long_text(1200, "x")[:6000]
        assert (len(title), len(excerpt)) == (400, 6000)
        corpus.add(
            f"long-{number:02d}",
            title=title,
            excerpt=excerpt,
            topics=[LONG_READS, "AI Research"],
            publishedDateTime=moment - timedelta(days=1, hours=number),
            provider={"name": f"The Long-Winded Review of Machine Learning, Edition {number}"},
        )
    corpus.add(
        "javascript-image",
        title="Quokka image article",
        excerpt="Its image is a script.",
        topics=[HOSTILE],
        publishedDateTime=datetime(2020, 5, 1, tzinfo=UTC),
        images=[{"url": "javascript:alert(document.cookie)", "width": 1, "height": 1}],
    )
    corpus.add(
        "javascript-related",
        title="Quokka related article",
        excerpt="Its related coverage is a script.",
        topics=[HOSTILE],
        publishedDateTime=datetime(2020, 5, 2, tzinfo=UTC),
        related=[{"title": "Coverage", "webUrl": "javascript:alert(1)"}],
    )
    return corpus


@pytest_asyncio.fixture
async def hostile_bot(
    sandbox: Sandbox, hostile_corpus: HostileCorpus, world: NewsWorld
) -> AsyncIterator[NewsBot]:
    async with start_news_bot(sandbox, world.settings) as bot:
        yield bot


def messages_of(result: InteractionResult) -> list[Message]:
    assert result.original is not None
    return [result.original, *(m for m in result.followups if m is not result.original)]


def shown_as(text: str) -> str:
    """What a reader sees of escaped text: backslash escapes and zero-width spaces gone."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def assert_within_discord_limits(message: Message) -> None:
    assert len(message.embeds) <= 10
    assert sum(embed_text_length(embed) for embed in message.embeds) <= 6000
    for embed in message.embeds:
        assert len(embed["title"]) <= 256
        assert len(embed.get("description", "")) <= 4096
        assert len(embed["author"]["name"]) <= 256


def assert_card_of(embed: Json, written: Written) -> None:
    """The card links its title to the article, names the provider, topics and date."""
    assert embed["url"] == written.url
    assert embed["author"]["name"] == written.provider
    assert embed["footer"]["text"] == " · ".join(written.topics)
    assert datetime.fromisoformat(embed["timestamp"]) == written.published
    assert not RAW_MENTION.search(embed["title"])
    assert not RAW_MENTION.search(embed.get("description", ""))


async def test_javascript_urls_are_dropped_with_a_warning_and_their_articles_served(
    sandbox: Sandbox, world: NewsWorld, hostile_corpus: HostileCorpus, hostile_bot: NewsBot
) -> None:
    report = hostile_bot.last_rescan
    assert report is not None and report.rejected == []
    warnings = {Path(w.path).name: w.message for w in report.warnings}
    assert sorted(warnings) == ["javascript-image.md", "javascript-related.md"]
    assert warnings["javascript-image.md"].startswith("images[0].url: not an absolute http(s) URL")
    assert warnings["javascript-image.md"].endswith("; image dropped")
    assert warnings["javascript-related.md"].startswith(
        "related[0].webUrl: not an absolute http(s) URL"
    )

    search = await sandbox.invoke(
        "search",
        member=world.reader,
        channel=world.news,
        options={"query": "quokka", "private": True},
    )
    assert {embed["title"] for embed in search.embeds} == {
        "Quokka image article",
        "Quokka related article",
    }
    assert all("javascript:" not in str(embed) for embed in search.embeds)

    shown = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": HOSTILE, "count": 10}
    )
    assert shown.rejections == []
    newest_ten = sorted(
        (w for w in hostile_corpus.valid.values() if HOSTILE in w.topics),
        key=lambda w: w.published,
        reverse=True,
    )[:10]
    assert {embed["url"] for embed in shown.embeds} == {w.url for w in newest_ten}
    assert all("javascript:" not in str(embed) for embed in shown.embeds)


async def test_hostile_text_shows_as_written_renders_nothing_and_pings_nobody(
    sandbox: Sandbox, world: NewsWorld, hostile_corpus: HostileCorpus, hostile_bot: NewsBot
) -> None:
    result = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": HOSTILE, "count": 10}
    )

    assert result.rejections == [] and not result.ephemeral
    assert result.original is not None and result.original.allowed_mentions == {"parse": []}
    cards = {embed["url"]: embed for embed in result.embeds}
    assert set(cards) == {w.url for w in hostile_corpus.valid.values() if HOSTILE in w.topics}
    for embed in result.embeds:
        assert_card_of(embed, hostile_corpus.written(embed))
        for text in (embed["title"], embed["description"]):
            assert not UNESCAPED_MARKUP.search(text), text
        assert shown_as(embed["title"]) == hostile_corpus.written(embed).title
        assert shown_as(embed["description"]) == hostile_corpus.written(embed).excerpt

    mentions = cards["https://news.example.com/tech/mentions"]
    assert "@everyone" not in mentions["title"] and "@here" not in mentions["title"]

    markdown = cards["https://news.example.com/tech/markdown"]
    assert markdown["description"].startswith("\\# heading \\[click\\](https://evil.example)")
    (related,) = markdown["fields"]
    links = re.findall(r"(?<!\\)\[((?:\\.|[^\[\]\\])*)\]\(([^)\s]*)\)", related["value"])
    assert [target for _, target in links] == [RELATED_URL]

    rtl = cards["https://news.example.com/tech/rtl-emoji"]
    assert rtl["title"] == RTL_TITLE and rtl["description"] == RTL_EXCERPT
    assert rtl["author"]["name"] == "أخبار 🤖 חדשות"


async def test_long_articles_are_split_over_messages_within_limits_and_all_recorded(
    sandbox: Sandbox, world: NewsWorld, hostile_corpus: HostileCorpus, hostile_bot: NewsBot
) -> None:
    result = await sandbox.invoke(
        "news", member=world.reader, channel=world.news, options={"topic": LONG_READS, "count": 10}
    )
    await result.wait_until(lambda: sum(len(m.embeds) for m in messages_of(result)) >= 10)

    assert result.rejections == [] and result.followups
    messages = messages_of(result)
    assert sandbox.channel_messages(world.news) == messages
    assert sum(embed_text_length(e) for m in messages for e in m.embeds) > 6000
    shown = [embed for message in messages for embed in message.embeds]
    assert len(shown) == 10
    for message in messages:
        assert message.allowed_mentions == {"parse": []}
        assert_within_discord_limits(message)
    for embed in shown:
        written = hostile_corpus.written(embed)
        assert_card_of(embed, written)
        assert embed["title"].endswith("…") and written.title.startswith(embed["title"][:-1])
        assert embed["description"].endswith("…")
    newest_first = sorted(
        (w for w in hostile_corpus.valid.values() if LONG_READS in w.topics),
        key=lambda w: w.published,
        reverse=True,
    )
    assert [embed["url"] for embed in shown] == [w.url for w in newest_first[:10]]
    # Only the last message carries the More button.
    assert [bool(m.custom_ids()) for m in messages] == [False] * (len(messages) - 1) + [True]

    async with hostile_bot.posting_locks.for_channel(
        world.news.id
    ):  # the command has finished recording
        rows = await hostile_bot.database.fetch(
            "SELECT message_id, article_id FROM ledger WHERE channel_id = ?", (world.news.id,)
        )
    assert sorted(tuple(row) for row in rows) == sorted(
        (message.id, article_id_for(embed["url"]))
        for message in messages
        for embed in message.embeds
    )

    (custom_id,) = messages[-1].custom_ids()
    more = await sandbox.click(messages[-1], custom_id, member=world.reader)
    assert more.rejections == []
    assert [embed["url"] for embed in more.embeds] == [w.url for w in newest_first[10:]]


async def test_mention_syntax_with_short_ids_is_escaped_too(
    sandbox: Sandbox, world: NewsWorld, hostile_corpus: HostileCorpus, hostile_bot: NewsBot
) -> None:
    result = await sandbox.invoke(
        "search", member=world.reader, channel=world.news, options={"query": "free GPUs"}
    )
    (card,) = [e for e in result.embeds if e["url"] == "https://news.example.com/tech/mentions"]
    assert "<@123>" not in card["title"]
