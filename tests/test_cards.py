"""Articles in, embeds out: what a card shows, what it never shows, and Discord's limits."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest

from ainews.cards import (
    CARD_DESCRIPTION_CHARS,
    NO_MENTIONS,
    PALETTE,
    article_embed,
    card_summary,
    embed_characters,
    pack_cards,
    pack_embeds,
    topic_colour,
    with_video_link,
)
from ainews.corpus.article import Article, Image, Provider, RelatedCoverage
from ainews.corpus.files import read_article_file
from ainews.settings import SAMPLE_CORPUS

SEED = read_article_file(SAMPLE_CORPUS / "sony-microsoft-ai-imaging-chip.md")
GEEKWIRE = "https://www.geekwire.com/2020/sony-use-microsofts-azure-ai-technology-new-smart-camera-sensors/"

#: Discord's tokens that render as something other than their text in an embed.
_DISCORD_TOKENS = re.compile(
    r"@everyone|@here|<@[!&]?\d+>|<#\d+>|</[^>\s]+:\d+>|<a?:\w+:\d+>|<t:-?\d+(?::\w)?>"
)
#: Discord shows "\\" and the next character as that character when it is not alphanumeric.
_ESCAPE = re.compile(r"\\[^0-9A-Za-z\s]")
#: A masked link as Discord reads it: unescaped "[", text, unescaped "]", "(target)".
_MASKED_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\\\]])*)\]\(([^)\s]*)\)")


def live_markup(text: str) -> list[str]:
    """Whatever in ``text`` Discord would render as markup rather than show: [] when none."""
    bare = _ESCAPE.sub("x", text)
    found = [char for char in "*_~|`[]" if char in bare]
    found += re.findall(r"(?m)^\s*(?:#|>|-|\d+\.\s)", bare)
    return found + _DISCORD_TOKENS.findall(text)


def all_urls(data: dict[str, Any]) -> list[str]:
    """Every URL in an embed's payload, the targets of masked links in field values included."""
    urls = [data.get("url")]
    urls += [data.get(part, {}).get(key) for part in ("image", "thumbnail") for key in ("url",)]
    urls += [data.get(part, {}).get("icon_url") for part in ("author", "footer")]
    for field in data.get("fields", []):
        urls += [target for _, target in _MASKED_LINK.findall(field["value"])]
    return [url for url in urls if url is not None]


def is_http(url: str) -> bool:
    return re.fullmatch(r"https?://[^\s/?#]+\S*", url) is not None


# ---------------------------------------------------------------------------------------------
# The seed article


def test_seed_article_renders_every_part():
    embed = article_embed(SEED)
    data = embed.to_dict()

    assert data["type"] == "rich"
    assert data["title"] == SEED.title
    assert data["url"] == SEED.url
    assert data["description"] == SEED.excerpt
    assert data["author"] == {
        "name": "South China Morning Post",
        "icon_url": "https://smartableai.github.io/artificial-intelligence/assets/images/"
        "organizations/scmp.com-50x50.jpg",
    }
    assert data["image"] == {"url": SEED.images[0].url}
    assert data["timestamp"] == "2020-05-19T04:12:00+00:00"
    assert data["footer"] == {"text": "AI Hardware · AI · Microsoft AI"}
    assert data["color"] == topic_colour("AI Hardware").value
    assert data["fields"] == [
        {"name": "Also covered by", "value": f"[GeekWire]({GEEKWIRE})", "inline": False}
    ]
    assert "thumbnail" not in data
    counted = [
        SEED.title,
        SEED.excerpt,
        "South China Morning Post",
        "AI Hardware · AI · Microsoft AI",
        "Also covered by",
        f"[GeekWire]({GEEKWIRE})",
    ]
    assert embed_characters(embed) == sum(map(len, counted))


def test_seed_card_summary_is_one_plain_line():
    assert card_summary(SEED) == (
        "Sony, Microsoft strike deal on tiny AI imaging chip with huge potential for cameras"
        " — South China Morning Post, 2020-05-19"
    )


def test_card_summary_without_provider_or_date_and_with_hostile_text():
    article = replace(
        SEED, title="**Big**\n@everyone [x](https://evil.example)", provider=None, published_at=None
    )
    summary = card_summary(article)
    assert "\n" not in summary
    assert live_markup(summary) == []
    assert summary == "\\*\\*Big\\*\\* @\u200beveryone \\[x\\](https://evil.example)"

    long = replace(SEED, title="word " * 100)
    assert len(card_summary(long).partition(" — ")[0]) <= 120
    assert card_summary(long).endswith("… — South China Morning Post, 2020-05-19")


def test_no_mentions_allows_nobody_to_be_pinged():
    assert NO_MENTIONS.to_dict() == {"parse": []}
    assert not (NO_MENTIONS.everyone or NO_MENTIONS.users or NO_MENTIONS.roles)
    assert NO_MENTIONS.replied_user is False


# ---------------------------------------------------------------------------------------------
# Hostile article text


@pytest.mark.parametrize(
    ("excerpt", "shown_as"),
    [
        ("[click](https://evil.example)", "\\[click\\](https://evil.example)"),
        ("**bold**", "\\*\\*bold\\*\\*"),
        ("# heading", "\\# heading"),
        ("```code```", "\\`\\`\\`code\\`\\`\\`"),
        ("||spoiler||", "\\|\\|spoiler\\|\\|"),
        ("~~gone~~ __under__", "\\~\\~gone\\~\\~ \\_\\_under\\_\\_"),
        ("> quoted", "\\> quoted"),
        ("-# small print", "\\-# small print"),
        ("- item", "\\- item"),
        ("1. item", "1\\. item"),
        # discord.py's escaper alone leaves a second link, and markdown inside a link, live.
        (
            "[a](https://x.example) and [**b**](https://y.example)",
            "\\[a\\](https://x.example) and \\[\\*\\*b\\*\\*\\](https://y.example)",
        ),
        ("@everyone and @here", "@\u200beveryone and @\u200bhere"),
        (
            "<@123456789012345678> <@&123456789012345678>",
            "<@\u200b123456789012345678> <@\u200b&123456789012345678>",
        ),
        ("<#123456789012345678>", "<\u200b#123456789012345678>"),
        ("</news:123456789012345678>", "<\u200b/news:123456789012345678>"),
        (
            "<:pog:123456789012345678> <a:dance:1>",
            "<\u200b:pog:123456789012345678> <\u200ba:dance:1>",
        ),
        ("<t:1700000000:R>", "<\u200bt:1700000000:R>"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_markup_in_an_excerpt_is_shown_as_written(excerpt, shown_as):
    description = article_embed(replace(SEED, excerpt=excerpt)).description
    assert description == shown_as
    assert live_markup(description) == []


def test_mass_mention_title_and_excerpt_never_render_as_mentions():
    article = replace(SEED, title="@everyone free GPUs", excerpt="@everyone free GPUs for @here")
    data = article_embed(article).to_dict()
    assert "@everyone" not in data["description"]
    assert "@here" not in data["description"]
    assert data["description"] == "@\u200beveryone free GPUs for @\u200bhere"
    assert "@everyone" not in data["title"]  # embeds never ping; the title is escaped all the same
    assert NO_MENTIONS.everyone is False


def test_every_kind_of_markup_at_once_renders_nothing():
    excerpt = "# [click](https://evil.example) **bold** ```code``` ||spoiler|| @everyone _i_ `c`"
    embed = article_embed(replace(SEED, title=excerpt, excerpt=excerpt))
    assert live_markup(embed.description or "") == []
    assert live_markup(embed.title or "") == []
    assert _MASKED_LINK.search(embed.description or "") is None


def test_non_web_urls_never_reach_the_embed():
    evil = "javascript:alert(1)"
    article = replace(
        SEED,
        url=evil,
        images=(
            Image(evil),
            Image("data:image/png;base64,AAAA"),
            Image("https://img.example/\x00.png"),  # passes is_web_url, but Discord rejects it
            Image("https://img.example/\ud800.png"),  # cannot even be encoded as UTF-8
            Image("https://img.example/a.png"),
        ),
        provider=Provider(name="Evil News", images=(Image(evil),)),
        related=(
            RelatedCoverage(title="one", url=evil, provider=Provider(name="Evil")),
            RelatedCoverage(title="two", url="ftp://files.example/x"),
            RelatedCoverage(title="three", url="//no-scheme.example/x"),
        ),
    )
    data = article_embed(article).to_dict()
    assert "url" not in data
    assert data["image"] == {"url": "https://img.example/a.png"}  # the first http(s) image
    assert data["author"] == {"name": "Evil News"}  # the name stays, the icon goes
    assert "fields" not in data  # no related coverage left to show
    assert evil not in json.dumps(data)


def test_a_provider_icon_is_only_ever_the_first_image():
    provider = Provider(
        name="P", images=(Image("javascript:x"), Image("https://icon.example/p.png"))
    )
    assert "icon_url" not in article_embed(replace(SEED, provider=provider)).to_dict()["author"]


def test_a_related_url_with_parentheses_cannot_end_the_link_early():
    related = RelatedCoverage(
        title="t", url="https://a.example/wiki/X_(y)", provider=Provider(name="Wiki")
    )
    value = article_embed(replace(SEED, related=(related,))).fields[0].value
    assert value == "[Wiki](https://a.example/wiki/X_%28y%29)"


def test_related_link_text_is_escaped_and_cannot_make_links_of_its_own():
    related = RelatedCoverage(
        title="ignored", url=GEEKWIRE, provider=Provider(name="Geek](https://evil.example) **W**")
    )
    value = article_embed(replace(SEED, related=(related,))).fields[0].value or ""
    links = _MASKED_LINK.findall(value)
    assert links == [("Geek)(https://evil.example) \\*\\*W\\*\\*", GEEKWIRE)]
    assert _MASKED_LINK.sub("", value) == ""


def test_related_coverage_is_at_most_three_distinct_whole_links():
    def coverage(index: int, *, provider: str | None = None, url: str | None = None):
        return RelatedCoverage(
            title=f"Story {index}",
            url=url or f"https://site{index}.example/story",
            provider=Provider(name=provider) if provider else None,
        )

    related = (
        coverage(0, url=SEED.url),  # the article itself
        coverage(1, provider="One"),
        coverage(2, url="https://site1.example/story#comments"),  # the same story as 1
        coverage(3),  # no provider: the title is the link text
        coverage(4, provider="Four"),
        coverage(5, provider="Five"),
    )
    value = article_embed(replace(SEED, related=related)).fields[0].value
    assert value == (
        "[One](https://site1.example/story)"
        " · [Story 3](https://site3.example/story)"
        " · [Four](https://site4.example/story)"
    )


def test_a_link_that_does_not_fit_the_field_is_dropped_not_cut():
    long_url = "https://long.example/" + "a" * 600
    related = (
        RelatedCoverage(title="first", url=long_url + "1"),
        RelatedCoverage(title="second", url=long_url + "2"),  # 1,260+ characters with the first
        RelatedCoverage(title="third", url="https://short.example/3"),
    )
    value = article_embed(replace(SEED, related=related)).fields[0].value or ""
    assert len(value) <= 1024
    assert [text for text, _ in _MASKED_LINK.findall(value)] == ["first", "third"]
    assert _MASKED_LINK.sub("", value) == " · "


def test_a_400_character_title_is_cut_at_a_word_boundary():
    words = [f"word{index}" for index in range(80)]
    title = " ".join(words)
    assert len(title) > 400
    shown = article_embed(replace(SEED, title=title)).title or ""
    assert len(shown) <= 256
    assert shown.endswith("…")
    kept = shown.removesuffix("…").split(" ")
    assert kept == words[: len(kept)]
    assert len(shown) > 200  # a word boundary near the limit, not a drastic cut


def test_a_6000_character_excerpt_is_bounded_to_the_card_length():
    excerpt = " ".join(f"w{index}" for index in range(1500))
    assert len(excerpt) >= 6000
    description = article_embed(replace(SEED, excerpt=excerpt)).description or ""
    assert len(description) <= CARD_DESCRIPTION_CHARS
    assert description.endswith("…")
    assert excerpt.startswith(description.removesuffix("…"))


def test_an_excerpt_of_nothing_but_markup_stays_within_bounds_once_escaped():
    description = article_embed(replace(SEED, excerpt="*" * 6000)).description or ""
    assert len(description) <= CARD_DESCRIPTION_CHARS
    assert description.endswith("…")
    assert live_markup(description) == []
    assert len(description) > CARD_DESCRIPTION_CHARS - 5  # tightened, not halved and halved again


def test_emoji_and_right_to_left_text_are_kept_intact():
    title = "🚀 الذكاء الاصطناعي 👩\u200d💻 בינה מלאכותית 🇯🇵 café"
    excerpt = "مرحبا بالعالم 👨\u200d👩\u200d👧 שלום עולם e\u0301 ✔\ufe0f"
    embed = article_embed(replace(SEED, title=title, excerpt=excerpt, topics=("ذكاء",)))
    assert embed.title == title
    assert embed.description == excerpt
    assert embed.footer.text == "ذكاء"
    assert embed.colour == topic_colour("ذكاء")


@pytest.mark.parametrize(
    "word",
    ["👩\u200d💻", "🇯🇵", "مرحبا", "שלום", "e\u0301", "✔\ufe0f", "👨\u200d👩\u200d👧\u200d👦"],
)
def test_long_text_of_emoji_or_right_to_left_words_is_cut_between_words(word):
    text = " ".join([word] * 3000)
    embed = article_embed(replace(SEED, title=text, excerpt=text))
    for shown, limit in (
        (embed.title or "", 256),
        (embed.description or "", CARD_DESCRIPTION_CHARS),
    ):
        assert len(shown) <= limit
        assert shown.endswith("…")
        assert set(shown.removesuffix("…").split(" ")) == {word}  # whole sequences only
        shown.encode("utf-8")  # no lone surrogate


def test_one_endless_emoji_word_is_cut_within_limits_to_valid_text():
    text = "👨\u200d👩\u200d👧\u200d👦" * 2000  # no space anywhere: cut inside the word
    embed = article_embed(replace(SEED, title=text, excerpt=text))
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= CARD_DESCRIPTION_CHARS
    json.dumps(embed.to_dict(), ensure_ascii=False).encode("utf-8")


def test_control_characters_and_lone_surrogates_are_dropped():
    article = replace(
        SEED, title="a\x00b\ud83dc", excerpt="line\nbreak\ttab\x07bell", topics=("x\udc00y",)
    )
    data = article_embed(article).to_dict()
    assert data["title"] == "abc"
    assert data["description"] == "line break tabbell"
    assert data["footer"]["text"] == "xy"
    json.dumps(data, ensure_ascii=False).encode("utf-8")


def test_an_article_with_only_a_title_and_url():
    article = Article(id="x", title="Just a title", url="https://news.example/x")
    data = article_embed(article).to_dict()
    assert data == {
        "type": "rich",
        "flags": 0,
        "title": "Just a title",
        "url": "https://news.example/x",
        "color": 0x64748B,
    }


def test_an_empty_title_still_gives_discord_a_title():
    assert article_embed(replace(SEED, title=" \n ")).title == "(untitled)"


def test_a_naive_publication_time_is_taken_as_utc():
    embed = article_embed(replace(SEED, published_at=datetime(2020, 5, 19, 4, 12)))  # noqa: DTZ001
    assert embed.to_dict()["timestamp"] == "2020-05-19T04:12:00+00:00"


def test_the_footer_holds_whole_topics_only():
    topics = tuple(f"topic {index:02d} " + "x" * 90 for index in range(25))
    footer = article_embed(replace(SEED, topics=topics)).footer.text or ""
    assert len(footer) <= 2048
    assert footer.split(" · ") == list(topics[: len(footer.split(" · "))])


# ---------------------------------------------------------------------------------------------
# Every limit, for any article

_TOKENS = (
    "word",
    "news",
    "AI",
    " ",
    " ",
    "\n",
    "\t",
    "*",
    "**",
    "_",
    "~~",
    "||",
    "`",
    "```",
    "[",
    "]",
    "(",
    ")",
    "#",
    "> ",
    "-",
    "1. ",
    "\\",
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<#123456789012345678>",
    "<t:1700000000:R>",
    "<:e:123456789012345678>",
    "👩\u200d💻",
    "🇯🇵",
    "مرحبا",
    "שלום",
    "e\u0301",
    "\u200d",
    "\x00",
    "\x07",
    "\ud83d",
    "\u202e",
)


def random_text(rng: random.Random, longest: int = 10_000) -> str:
    length = rng.randint(0, longest) if rng.random() < 0.3 else rng.randint(0, 300)
    pieces: list[str] = []
    size = 0
    while size < length:
        piece = rng.choice(_TOKENS)
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)[:length]


def random_url(rng: random.Random) -> str:
    return rng.choice(
        [
            lambda: "https://news.example/" + "p" * rng.randint(0, 3000),
            lambda: f"http://site{rng.randint(0, 9)}.example/a_(b)?q=1",
            lambda: "javascript:alert(1)",
            lambda: "ftp://files.example/x",
            lambda: "",
            lambda: "https://",
            lambda: "https://x.example/" + random_text(rng, 50),
            lambda: random_text(rng, 100),
        ]
    )()


def random_images(rng: random.Random) -> tuple[Image, ...]:
    return tuple(Image(url=random_url(rng)) for _ in range(rng.randint(0, 12)))


def random_provider(rng: random.Random) -> Provider | None:
    if rng.random() < 0.2:
        return None
    return Provider(name=random_text(rng), domain=None, images=random_images(rng))


def random_moment(rng: random.Random) -> datetime | None:
    moment = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**9))
    return rng.choice([None, moment, moment.replace(tzinfo=None)])


def random_article(rng: random.Random) -> Article:
    return Article(
        id=random_text(rng, 20),
        title=random_text(rng),
        url=random_url(rng),
        excerpt=random_text(rng),
        published_at=random_moment(rng),
        provider=random_provider(rng),
        topics=tuple(random_text(rng) for _ in range(rng.randint(0, 30))),
        images=random_images(rng),
        related=tuple(
            RelatedCoverage(
                title=random_text(rng),
                url=random_url(rng),
                excerpt=random_text(rng),
                provider=random_provider(rng),
            )
            for _ in range(rng.randint(0, 20))
        ),
    )


def assert_within_discord_limits(embed: discord.Embed) -> None:
    data = embed.to_dict()
    assert 1 <= len(data.get("title", "")) <= 256
    assert len(data.get("description", "")) <= 4096
    assert len(data.get("description", "")) <= CARD_DESCRIPTION_CHARS
    assert len(data.get("author", {}).get("name", "")) <= 256
    assert len(data.get("footer", {}).get("text", "")) <= 2048
    assert len(data.get("fields", [])) <= 25
    for field in data.get("fields", []):
        assert 1 <= len(field["name"]) <= 256
        assert 1 <= len(field["value"]) <= 1024
    assert embed_characters(embed) <= 6000
    for url in all_urls(dict(data)):
        assert is_http(url), url
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # sendable: no lone surrogates


def assert_renders_as_written(embed: discord.Embed) -> None:
    assert live_markup(embed.title or "") == []
    assert live_markup(embed.description or "") == []
    for field in embed.fields:
        value = field.value or ""
        for text, _target in _MASKED_LINK.findall(value):
            assert live_markup(text) == [], text
        assert set(_MASKED_LINK.sub("\x00", value).split("\x00")) <= {"", " · "}


@pytest.mark.slow
def test_every_discord_limit_holds_for_any_article():
    rng = random.Random(20200519)
    embeds = []
    for _ in range(200):
        embed = article_embed(random_article(rng))
        assert_within_discord_limits(embed)
        assert_renders_as_written(embed)
        embeds.append(embed)

    messages = pack_embeds(embeds)
    assert all(a is b for a, b in zip(flat(messages), embeds, strict=True))  # none needed fitting
    for message in messages:
        assert 1 <= len(message) <= 10
        assert sum(map(embed_characters, message)) <= 6000


@pytest.mark.slow
def test_random_articles_exercise_the_limits():
    """The generator above does reach the limits it is meant to test."""
    rng = random.Random(20200519)
    datas = [article_embed(random_article(rng)).to_dict() for _ in range(200)]
    assert any(len(d["title"]) > 250 for d in datas)
    assert any(len(d.get("description", "")) > CARD_DESCRIPTION_CHARS - 10 for d in datas)
    assert any(len(d.get("author", {}).get("name", "")) > 250 for d in datas)
    assert any(len(d.get("footer", {}).get("text", "")) > 2000 for d in datas)
    assert any(
        len(_MASKED_LINK.findall(d["fields"][0]["value"])) == 3 for d in datas if "fields" in d
    )
    assert any("url" not in d for d in datas) and any("url" in d for d in datas)


# ---------------------------------------------------------------------------------------------
# Packing embeds into messages


def flat(messages: list[list[discord.Embed]]) -> list[discord.Embed]:
    return [embed for message in messages for embed in message]


def small_embed(index: int) -> discord.Embed:
    return discord.Embed(title=f"Card {index}", description="text")


def test_pack_nothing():
    assert pack_embeds([]) == []


def test_pack_at_most_ten_embeds_a_message_in_order():
    embeds = [small_embed(index) for index in range(25)]
    messages = pack_embeds(embeds)
    assert [len(message) for message in messages] == [10, 10, 5]
    assert [embed for message in messages for embed in message] == embeds
    assert all(a is b for a, b in zip(flat(messages), embeds, strict=True))


def test_pack_splits_when_characters_would_exceed_6000():
    embeds = [discord.Embed(title=str(index), description="x" * 2499) for index in range(5)]
    assert [embed_characters(embed) for embed in embeds] == [2500] * 5
    messages = pack_embeds(embeds)
    assert [len(message) for message in messages] == [2, 2, 1]
    assert flat(messages) == embeds


def test_pack_fills_a_message_to_exactly_6000():
    embeds = [discord.Embed(description="x" * 2000) for _ in range(4)]
    assert [len(message) for message in pack_embeds(embeds)] == [3, 1]


def test_an_embed_over_6000_alone_has_its_description_trimmed_first():
    embed = discord.Embed(title="Big", description="word " * 819)
    embed.add_field(name="one", value="v" * 1024).add_field(name="two", value="w" * 1024)
    embed.set_footer(text="f" * 2048).set_author(name="Author")
    before = embed.to_dict()
    assert embed_characters(embed) > 6000

    [[fitted]] = pack_embeds([embed])
    assert embed_characters(fitted) <= 6000
    assert (fitted.description or "").endswith("…")
    assert len(fitted.description or "") < len(embed.description or "")
    assert [(f.name, f.value) for f in fitted.fields] == [(f.name, f.value) for f in embed.fields]
    assert fitted.footer.text == embed.footer.text
    assert fitted.title == "Big"
    assert embed.to_dict() == before  # the caller's embed is untouched


def test_an_embed_too_big_even_without_description_gives_up_fields_from_the_last():
    embed = discord.Embed(title="Fields", description="d" * 100)
    for index in range(30):
        embed.add_field(name=f"f{index}", value="v" * 1024)
    before = embed.to_dict()

    messages = pack_embeds([small_embed(0), embed, small_embed(1)])
    fitted = messages[0][1] if len(messages[0]) > 1 else messages[1][0]
    assert embed_characters(fitted) <= 6000
    assert not fitted.description
    assert [f.name for f in fitted.fields] == [f"f{index}" for index in range(len(fitted.fields))]
    assert 1 <= len(fitted.fields) <= 25
    assert embed.to_dict() == before
    for message in messages:
        assert sum(map(embed_characters, message)) <= 6000
    assert [m.title for m in flat(messages)] == ["Card 0", "Fields", "Card 1"]


def test_pack_bounds_each_part_of_a_foreign_embed():
    embed = discord.Embed(title="t " * 200, description="d " * 3000)
    embed.add_field(name="n " * 200, value="v " * 1000)
    embed.set_author(name="a " * 200).set_footer(text="f " * 1500)
    [[fitted]] = pack_embeds([embed])
    assert_limits = fitted.to_dict()
    assert len(assert_limits["title"]) <= 256
    assert len(assert_limits["description"]) <= 4096
    assert len(assert_limits["author"]["name"]) <= 256
    assert len(assert_limits["footer"]["text"]) <= 2048
    assert len(assert_limits["fields"][0]["name"]) <= 256
    assert len(assert_limits["fields"][0]["value"]) <= 1024
    assert embed_characters(fitted) <= 6000


def test_embed_characters_counts_what_discord_counts():
    embed = discord.Embed(title="12345", description="123", url="https://not.counted/")
    embed.add_field(name="ab", value="cde").add_field(name="f", value="g")
    embed.set_footer(text="footer", icon_url="https://not.counted/f.png")
    embed.set_author(name="author", icon_url="https://not.counted/a.png")
    embed.set_image(url="https://not.counted/i.png")
    assert embed_characters(embed) == 5 + 3 + (2 + 3) + (1 + 1) + 6 + 6
    assert embed_characters(discord.Embed()) == 0


# ---------------------------------------------------------------------------------------------
# Topic colours


def test_topic_colour_ignores_case_and_spacing():
    assert (
        topic_colour("AI Hardware") == topic_colour("ai hardware") == topic_colour("AI  HARDWARE")
    )
    assert topic_colour("AI Hardware") in PALETTE


def test_topic_colours_use_the_palette():
    colours = {topic_colour(f"topic {index}") for index in range(200)}
    assert colours == set(PALETTE)


@pytest.mark.slow
@pytest.mark.parametrize("hash_seed", ["0", "4242"])
def test_topic_colour_is_the_same_in_another_process(hash_seed):
    script = "from ainews.cards import topic_colour; print(topic_colour('AI Hardware').value)"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
    )
    assert int(result.stdout) == topic_colour("AI Hardware").value


# ---------------------------------------------------------------------------------------------
# Videos


def test_each_video_gets_a_message_of_its_own_with_its_link_in_the_content():
    watch = "https://www.youtube.com/watch?v=Zx9aYc1uQ2E"
    video = replace(SEED, id="video", url=watch, type="video", video_url=watch)
    plain = [replace(SEED, id=f"a{n}", url=f"https://news.example.com/{n}") for n in range(3)]

    messages = pack_cards([plain[0], plain[1], video, plain[2], video])

    assert [(m.count, m.video_url) for m in messages] == [
        (2, None),
        (1, watch),
        (1, None),
        (1, watch),
    ]
    assert [len(m.embeds) for m in messages] == [2, 1, 1, 1]
    assert messages[1].embeds[0].url == watch


def test_a_video_link_goes_in_the_content_only_when_it_fits():
    watch = "https://www.youtube.com/watch?v=Zx9aYc1uQ2E"

    assert with_video_link("", watch) == watch
    assert with_video_link("header", watch) == f"header\n{watch}"
    assert with_video_link("h" * 1_990, watch) == "h" * 1_990
    assert with_video_link("h" * 1_900, watch, room=64) == "h" * 1_900
    assert with_video_link("header", None) == "header"
