"""A curated corpus as curation tools keep it, replayed through the bot over many rescans.

Files are rewritten on every step (heat, quality and the signature change each time), one is
re-pointed back and forth among four outlets' copies of its story, a file's webUrl is another
file's AMP copy, a video has only ``originalUrl`` and an embedded player, titles carry HTML
entities, an icon is a relative path, and two files share one URL under different titles.
After every rescan a member catches up with /latest in #news, and an admin runs /digest now for
#general until nothing is new: neither channel is ever shown a story twice, and both are shown
every story. Digest messages are edited to the current card when a file changes what its card
shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ainews.app import NewsBot
from ainews.cogs.corpus_watch import rescan_corpus
from discord_sandbox.sandbox import Sandbox
from discord_sandbox.state import Channel
from tests.helpers import (
    NewsWorld,
    digest_command,
    eventually,
    start_news_bot,
    write_article_file,
)

TOPIC = "Curated AI"
WATCH_URL = "https://www.youtube.com/watch?v=Qm3vX8rT1aE"
OUTLETS = [
    "https://outlet-a.example.com/2026/12/robot-hands",
    "https://outlet-b.example.net/tech/robot-hands-syndicated",
    "https://outlet-c.example.org/news/robot-hands",
    "https://outlet-d.example.com/amp-free/robot-hands",
]
ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """Only the curated files of this module, so every story here is one we wrote."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


@dataclass
class Curator:
    """Writes the corpus as a curation tool would, and knows which URLs are which story."""

    folder: Path
    step: int = 0
    story_of_url: dict[str, str] = field(default_factory=dict)

    def write(self, name: str, story: str, **fields: Any) -> None:
        fields.setdefault("topics", [TOPIC, "AI"])
        fields.setdefault("publishedDateTime", datetime(2026, 12, 1, tzinfo=UTC))
        # What the tool rewrites on every run, whatever else changes.
        fields.setdefault("heat", 40 + self.step)
        fields.setdefault("quality", 100 + self.step)
        extra = f'secured: "sig-{self.step}-{name}"\n'
        web = fields.get("webUrl", f"https://news.example.com/tech/{name}")
        for url in (web, fields.get("originalUrl"), fields.get("ampWebUrl")):
            if url:
                self.story_of_url[url] = story
        write_article_file(self.folder, name, extra_yaml=extra, **fields)

    def stories(self) -> set[str]:
        return set(self.story_of_url.values())


def repointed(curator: Curator, outlet: str) -> None:
    curator.write(
        "robot-hands",
        "robot hands",
        title="Robot hands learn to sort recycling by touch",
        webUrl=outlet,  # no alias in common: only the file ties the four copies together
        ampWebUrl=None,
        cdnAmpWebUrl=None,
        publishedDateTime=datetime(2026, 12, 2, 8, tzinfo=UTC),
    )


def steps(curator: Curator) -> Iterator[None]:
    """The corpus's history, one rescan after each step."""
    repointed(curator, OUTLETS[0])
    curator.write(
        "chip",
        "chip",
        title="Startup tapes out an inference chip",
        webUrl="https://chips.example.com/tapeout",
        ampWebUrl="https://chips.example.com/tapeout/amp",
        cdnAmpWebUrl=None,
    )
    curator.write(
        "video-demo",
        "video",
        type="video",
        title="Watch: a humanoid robot folds laundry",
        webUrl=None,
        ampWebUrl=None,
        cdnAmpWebUrl=None,
        originalUrl=WATCH_URL,
        featuredContent=f'<iframe src="https://www.youtube.com/embed/{WATCH_URL[-11:]}"></iframe>',
    )
    curator.write(
        "entities",
        "entities",
        title="OpenAI&#8217;s &#8220;o5&#8221; &amp; the race for reasoning",
        excerpt="Lab says it&#8217;s <b>faster</b>.",
    )
    curator.write(
        "relative-icon",
        "relative icon",
        title="Curators add a relative icon",
        provider={"name": "Smartable", "images": [{"url": "/assets/images/logo-50x50.jpg"}]},
    )
    curator.write(
        "same-url-1",
        "same url",
        title="Two files, one URL: first title",
        webUrl="https://shared.example.com/story",
    )
    yield
    for step, outlet in enumerate([OUTLETS[1], OUTLETS[2], OUTLETS[0], OUTLETS[3]], 1):
        curator.step = step
        repointed(curator, outlet)
        curator.write(
            f"new-{step}",
            f"new {step}",
            title=f"Fresh story number {step}",
            publishedDateTime=datetime(2026, 12, 2, tzinfo=UTC) + timedelta(hours=step),
        )
        if step == 1:
            curator.write(
                "chip-amp",
                "chip",
                title="Startup tapes out an inference chip (AMP)",
                webUrl="https://chips.example.com/tapeout/amp",
                ampWebUrl=None,
                cdnAmpWebUrl=None,
            )
            curator.write(
                "same-url-2",
                "same url",
                title="Two files, one URL: second title",
                webUrl="https://shared.example.com/story",
            )
        if step == 4:
            (curator.folder / "chip.md").unlink()
        yield


async def catch_up_with_latest(sandbox: Sandbox, world: NewsWorld, bot: NewsBot) -> None:
    """/latest until the member is caught up (each answer fully posted before the next)."""
    for _ in range(10):
        result = await sandbox.invoke(
            "latest", member=world.reader, channel=world.news, options={"count": 3}
        )
        async with bot.posting_locks.for_channel(world.news.id):  # the answer is all posted
            pass
        if result.ephemeral:
            assert "caught up" in (result.content or "")
            return
    raise AssertionError("/latest never caught up")


def cards_in(sandbox: Sandbox, channel: Channel) -> list[dict[str, Any]]:
    """Every card the channel shows, with the content of its message."""
    return [
        embed | {"content": message.content}
        for message in sandbox.channel_messages(channel)
        for embed in message.embeds
    ]


async def digest_until_nothing_new(sandbox: Sandbox, world: NewsWorld) -> None:
    for _ in range(10):
        result = await digest_command(sandbox, world, "now", channel=world.other)
        text = " ".join(m.content for m in result.followups)
        if "nothing new" in text:
            return
        assert "delivered" in text, text
    raise AssertionError("/digest now never ran out")


@pytest.mark.slow
async def test_a_replayed_curated_corpus_shows_every_story_once_in_each_channel(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path
) -> None:
    curator = Curator(corpus_dir)
    history = steps(curator)
    next(history)
    async with start_news_bot(sandbox, world.settings) as bot:
        subscribed = await digest_command(
            sandbox, world, "subscribe", topic=TOPIC, channel=world.other, max_items=2
        )
        assert subscribed.ephemeral and "now gets" in (subscribed.content or "")
        while True:
            await catch_up_with_latest(sandbox, world, bot)
            await digest_until_nothing_new(sandbox, world)
            if next(history, "done") == "done":
                break
            await rescan_corpus(bot)
            assert bot.last_rescan is not None and bot.last_rescan.rejected == []
            await eventually(lambda: cards_edited(bot))  # by the scheduler, woken by the rescan
        await assert_ledger_holds_each_story_once(bot)
        again = await sandbox.invoke(
            "latest",
            member=world.reader,
            channel=world.news,
            options={"count": 10, "include_seen": True, "private": True},
        )
        shown_again = {curator.story_of_url[e["url"]]: e["url"] for e in again.embeds}
        assert shown_again["robot hands"] == OUTLETS[3]  # include_seen: the current version

    latest_cards, digest_cards = cards_in(sandbox, world.news), cards_in(sandbox, world.other)
    for cards in (latest_cards, digest_cards):
        stories = [curator.story_of_url[card["url"]] for card in cards]
        assert sorted(stories) == sorted(curator.stories()), "every story, each once"
        for card in cards:
            assert not ENTITY.search(card["title"] + card.get("description", ""))
            assert "<b>" not in card.get("description", "")
        (video,) = [card for card in cards if card["url"] == WATCH_URL]
        assert WATCH_URL in video["content"].splitlines()
    # Shown once each. The command's answer stays as it was posted; the digest message was
    # edited after each re-pointing to show where the file points now.
    assert card_of(latest_cards, curator, "robot hands")["url"] == OUTLETS[0]
    assert card_of(digest_cards, curator, "robot hands")["url"] == OUTLETS[3]
    assert card_of(digest_cards, curator, "same url")["title"] == "Two files, one URL: second title"
    entity = next(card for card in latest_cards if "o5" in card["title"])
    assert entity["title"] == "OpenAI’s “o5” & the race for reasoning"


async def cards_edited(bot: NewsBot) -> bool:
    return not await bot.digests.changed_cards(bot.clock() - timedelta(days=7), 1)


def card_of(cards: list[dict[str, Any]], curator: Curator, story: str) -> dict[str, Any]:
    (card,) = [c for c in cards if curator.story_of_url[c["url"]] == story]
    return card


async def assert_ledger_holds_each_story_once(bot: NewsBot) -> None:
    rows = await bot.database.fetch(
        "SELECT l.channel_id, a.story_id, count(*) FROM ledger AS l"
        " JOIN articles AS a ON a.id = l.article_id GROUP BY l.channel_id, a.story_id"
    )
    assert rows and all(count == 1 for _, _, count in rows)
