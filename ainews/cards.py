"""Articles as Discord embeds ("cards"), packed into messages Discord will accept.

Pure: no I/O, no network, no database. Every card respects Discord's limits on its own, and
:func:`pack_embeds` keeps every message within the per-message limits (the constants below).

Article text is data, never markup. Wherever Discord renders markdown (title, description, field
values, message content) it is escaped so that it shows as written: no masked links, bold,
headings, lists, code blocks, spoilers, quotes, mention-looking text, channel or command mentions,
custom emoji or timestamps. Author names and footers are shown verbatim by Discord, so they are
only cleaned (one line, no control characters). Only absolute http(s) URLs ever reach an embed.
"""

from __future__ import annotations

import copy
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import discord

from ainews.corpus.article import Article, RelatedCoverage
from ainews.corpus.urls import canonical_url, is_web_url
from ainews.text import ELLIPSIS, trim_to_words

#: Every message the bot sends uses this: article text can never ping anyone.
NO_MENTIONS: discord.AllowedMentions = discord.AllowedMentions.none()

# Discord's limits (its API documentation: Message and Embed). Characters are code points, as
# ``len()`` counts them.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4_096
AUTHOR_NAME_LIMIT = 256
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1_024
FIELDS_PER_EMBED = 25
FOOTER_LIMIT = 2_048
EMBEDS_PER_MESSAGE = 10
CHARACTERS_PER_MESSAGE = 6_000
CONTENT_LIMIT = 2_000

#: A card's description is a teaser, not the article: about three lines on a desktop client. Ten
#: typical cards then fit one message; longer excerpts end at a word boundary with "…".
CARD_DESCRIPTION_CHARS = 350
#: At most this many "Also covered by" links, each link text at most this long.
RELATED_LINKS = 3
RELATED_LINK_TEXT_CHARS = 80
RELATED_FIELD_NAME = "Also covered by"
TOPIC_SEPARATOR = " · "
#: :func:`card_summary` is one line of a list: a long title or provider name is cut short.
SUMMARY_TITLE_CHARS = 120
SUMMARY_PROVIDER_CHARS = 60

#: Distinct, readable on Discord's dark and light themes (Tailwind's 500 shades).
PALETTE: tuple[discord.Colour, ...] = tuple(
    discord.Colour(value)
    for value in (
        0x3B82F6,  # blue
        0x10B981,  # emerald
        0xF59E0B,  # amber
        0xEF4444,  # red
        0x8B5CF6,  # violet
        0xEC4899,  # pink
        0x14B8A6,  # teal
        0xF97316,  # orange
        0x6366F1,  # indigo
        0x84CC16,  # lime
        0x06B6D4,  # cyan
        0xA855F7,  # purple
    )
)
#: The colour of a card whose article has no topic.
NO_TOPIC_COLOUR = discord.Colour(0x64748B)  # slate

#: Control characters that are not white space, and lone surrogates (which cannot be encoded as
#: UTF-8, so a message holding one could not be sent at all).
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff]")
#: Stand-ins for "[" and "]" while discord.py escapes the rest: its escaper treats a whole
#: ``[text](url)`` as one token and leaves the markdown inside it (and any further link) alone.
#: Control characters, so :func:`_one_line` guarantees the input holds none of them.
_OPEN, _CLOSE = "\x00", "\x01"
_HIDE_BRACKETS = str.maketrans({"[": _OPEN, "]": _CLOSE})
_LINK_TEXT_BRACKETS = str.maketrans({"[": "(", "]": ")"})
#: ``<#channel>``, ``</command:id>``, ``<:emoji:id>``, ``<a:emoji:id>``, ``<t:timestamp>``.
#: User and role mentions too, whatever the length of the id: escape_mentions only knows
#: 17-20 digit ids, while Discord renders ``<@123>`` as a mention of an unknown user.
_DISCORD_TOKEN = re.compile(r"<(?=[#/:]|a:|t:|@(?!\u200b))")
_ORDERED_LIST_ITEM = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)
#: Characters that would end or break the target of a masked link.
_LINK_TARGET_UNSAFE = str.maketrans({"(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "\\": "%5C"})
_ZERO_WIDTH_SPACE = "\u200b"


def article_embed(article: Article) -> discord.Embed:
    """The card for ``article``: within every Discord limit whatever the article holds."""
    title = _markdown_safe_within(_one_line(article.title), TITLE_LIMIT) or "(untitled)"
    embed = discord.Embed(
        title=title,
        url=article.url if _is_web_url(article.url) else None,
        description=_markdown_safe_within(_one_line(article.excerpt), CARD_DESCRIPTION_CHARS)
        or None,
        colour=topic_colour(article.topics[0]) if article.topics else NO_TOPIC_COLOUR,
        timestamp=_aware(article.published_at) if article.published_at else None,
    )
    if article.provider is not None:
        name = _one_line(article.provider.name)
        if name:
            icon = article.provider.icon_url
            embed.set_author(
                name=trim_to_words(name, AUTHOR_NAME_LIMIT),
                icon_url=icon if _is_web_url(icon) else None,
            )
    image = next((image.url for image in article.images if _is_web_url(image.url)), None)
    if image is not None:
        embed.set_image(url=image)
    footer = _topic_line(article.topics)
    if footer:
        embed.set_footer(text=footer)
    related = _related_links(article)
    if related:
        embed.add_field(name=RELATED_FIELD_NAME, value=related, inline=False)
    return embed


def topic_colour(topic: str) -> discord.Colour:
    """A colour from :data:`PALETTE` for ``topic``: the same in every process, whatever its case."""
    key = " ".join(topic.split()).casefold().encode("utf-8", "surrogatepass")
    return PALETTE[zlib.crc32(key) % len(PALETTE)]


def embed_characters(embed: discord.Embed) -> int:
    """The characters of ``embed`` that count toward Discord's 6,000 per message.

    That is title, description, field names and values, footer text and author name, which is
    exactly what ``discord.Embed.__len__`` adds up.
    """
    return len(embed)


def pack_embeds(embeds: Sequence[discord.Embed]) -> list[list[discord.Embed]]:
    """Split ``embeds`` into messages of at most 10 embeds and 6,000 characters, in order.

    An embed Discord would reject on its own (one part too long, more than 25 fields, more than
    6,000 characters) is replaced by a bounded copy: its description gives way first, then its
    fields from the last. The embeds passed in are never modified.
    """
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    characters = 0
    for embed in map(_within_limits, embeds):
        size = embed_characters(embed)
        if current and (
            len(current) == EMBEDS_PER_MESSAGE or characters + size > CHARACTERS_PER_MESSAGE
        ):
            messages.append(current)
            current, characters = [], 0
        current.append(embed)
        characters += size
    if current:
        messages.append(current)
    return messages


@dataclass(frozen=True, slots=True)
class CardMessage:
    """One message's worth of cards: ``count`` articles in order, their embeds, and for a video
    its playable URL, which goes bare in the message content (bots cannot set an embed's video;
    Discord shows a player for a video link in the content)."""

    count: int
    embeds: list[discord.Embed]
    video_url: str | None = None


def pack_cards(articles: Sequence[Article]) -> list[CardMessage]:
    """The cards of ``articles`` in as few messages as Discord's limits allow, in order; each
    video has a message of its own, so that each shows its player."""
    messages: list[CardMessage] = []
    pending: list[Article] = []

    def flush() -> None:
        for embeds in pack_embeds([article_embed(article) for article in pending]):
            messages.append(CardMessage(len(embeds), embeds))
        pending.clear()

    for article in articles:
        if article.video_url is None or not is_web_url(article.video_url):
            pending.append(article)
            continue
        flush()
        messages.append(CardMessage(1, pack_embeds([article_embed(article)])[0], article.video_url))
    flush()
    return messages


def with_video_link(text: str, video_url: str | None, room: int = 0) -> str:
    """``text`` with the video URL on a line of its own, if there is one and it fits a message
    (leaving ``room`` characters for what is added later); else ``text`` alone (the card still
    links the video)."""
    if video_url is None:
        return text
    joined = f"{text}\n{video_url}" if text else video_url
    return joined if len(joined) + room <= CONTENT_LIMIT else text


def compact_embed(articles: Sequence[Article]) -> discord.Embed:
    """One embed listing ``articles`` as headlines: linked title, provider and date, a line
    each, for busy channels (the ``compact`` digest style)."""
    lines = []
    for article in articles:
        title = _markdown_safe_within(
            _one_line(article.title).translate(_LINK_TEXT_BRACKETS), SUMMARY_TITLE_CHARS
        )
        headline = title or "(untitled)"
        if _is_web_url(article.url):
            headline = f"[{headline}]({article.url.translate(_LINK_TARGET_UNSAFE)})"
        lines.append(f"**{headline}**{_summary_details(article)}")
    colour = topic_colour(articles[0].topics[0]) if articles and articles[0].topics else None
    return discord.Embed(
        description="\n".join(lines)[:DESCRIPTION_LIMIT], colour=colour or NO_TOPIC_COLOUR
    )


def card_summary(article: Article) -> str:
    """One line of markdown-safe text for a list: "title — provider, 2020-05-19"."""
    title = _markdown_safe_within(_one_line(article.title), SUMMARY_TITLE_CHARS) or "(untitled)"
    return f"{title}{_summary_details(article)}"


def _summary_details(article: Article) -> str:
    """ " — provider, 2020-05-19" (what of it the article has), or nothing."""
    details = []
    if article.provider is not None:
        provider = _markdown_safe_within(_one_line(article.provider.name), SUMMARY_PROVIDER_CHARS)
        if provider:
            details.append(provider)
    if article.published_at is not None:
        details.append(_aware(article.published_at).astimezone(UTC).date().isoformat())
    return f" — {', '.join(details)}" if details else ""


def _one_line(text: str) -> str:
    """``text`` on one line: white space collapsed, unprintable characters dropped."""
    return " ".join(_UNPRINTABLE.sub("", text).split())


def _markdown_safe(text: str) -> str:
    """``text`` escaped so that Discord shows it as written (``text`` has been through
    :func:`_one_line`, so it holds none of the bracket stand-ins)."""
    text = discord.utils.escape_markdown(text.translate(_HIDE_BRACKETS))
    text = discord.utils.escape_mentions(text)
    text = _DISCORD_TOKEN.sub("<" + _ZERO_WIDTH_SPACE, text)
    text = _ORDERED_LIST_ITEM.sub(r"\1\\.", text)
    return text.replace(_OPEN, "\\[").replace(_CLOSE, "\\]")


def _markdown_safe_within(text: str, limit: int) -> str:
    """``text`` cut at a word boundary, then escaped, the escaped form at most ``limit`` long.

    Cutting before escaping never leaves half an escape; escaping only lengthens text, so the cut
    is tightened until the escaped form fits.
    """
    budget = limit
    while True:
        escaped = _markdown_safe(trim_to_words(text, budget)) if text else ""
        if len(escaped) <= limit:
            return escaped
        if budget == 1:
            return ELLIPSIS if limit >= len(ELLIPSIS) else ""
        budget = max(1, min(budget - 1, budget * limit // len(escaped)))


def _is_web_url(url: str | None) -> bool:
    """An absolute http(s) URL Discord can take: ``is_web_url`` lets control characters and lone
    surrogates through (``\\S``), and a payload holding a lone surrogate cannot even be encoded."""
    return isinstance(url, str) and is_web_url(url) and _UNPRINTABLE.search(url) is None


def _aware(moment: datetime) -> datetime:
    """A naive datetime is UTC, as in the article model (discord.py would take it as local time)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _topic_line(topics: Sequence[str]) -> str:
    """The topics joined for a footer: whole topics only, as many as fit."""
    line = ""
    for topic in filter(None, map(_one_line, topics)):
        if not line:
            line = trim_to_words(topic, FOOTER_LIMIT)
        elif len(line) + len(TOPIC_SEPARATOR) + len(topic) <= FOOTER_LIMIT:
            line += TOPIC_SEPARATOR + topic
        else:
            break
    return line


def _related_links(article: Article) -> str:
    """Up to three masked links to other coverage, whole links only, within a field value."""
    seen = {canonical_url(article.url)} if _is_web_url(article.url) else set()
    links: list[str] = []
    length = 0
    for related in article.related:
        if len(links) == RELATED_LINKS:
            break
        if not _is_web_url(related.url) or canonical_url(related.url) in seen:
            continue
        link = f"[{_link_text(related)}]({related.url.translate(_LINK_TARGET_UNSAFE)})"
        added = len(link) + (len(TOPIC_SEPARATOR) if links else 0)
        if length + added > FIELD_VALUE_LIMIT:
            continue
        seen.add(canonical_url(related.url))
        links.append(link)
        length += added
    return TOPIC_SEPARATOR.join(links)


def _link_text(related: RelatedCoverage) -> str:
    """The provider's name, else the title, else the host: escaped, and with no square brackets,
    which Discord's link syntax cannot hold even escaped."""
    candidates = (related.provider.name if related.provider else "", related.title)
    for candidate in (*candidates, urlsplit(related.url).hostname or ""):
        text = _one_line(candidate).translate(_LINK_TEXT_BRACKETS)
        if text:
            return _markdown_safe_within(text, RELATED_LINK_TEXT_CHARS)
    return "link"


def _within_limits(embed: discord.Embed) -> discord.Embed:
    """``embed`` if Discord accepts it as it is, else a bounded copy."""
    if not any(_violations(embed)):
        return embed
    fitted = type(embed).from_dict(copy.deepcopy(embed.to_dict()))
    if fitted.title and len(fitted.title) > TITLE_LIMIT:
        fitted.title = trim_to_words(fitted.title, TITLE_LIMIT)
    if fitted.author.name and len(fitted.author.name) > AUTHOR_NAME_LIMIT:
        fitted.set_author(
            name=trim_to_words(fitted.author.name, AUTHOR_NAME_LIMIT),
            url=fitted.author.url,
            icon_url=fitted.author.icon_url,
        )
    if fitted.footer.text and len(fitted.footer.text) > FOOTER_LIMIT:
        fitted.set_footer(
            text=trim_to_words(fitted.footer.text, FOOTER_LIMIT), icon_url=fitted.footer.icon_url
        )
    for index in range(len(fitted.fields) - 1, FIELDS_PER_EMBED - 1, -1):
        fitted.remove_field(index)
    for index, field in enumerate(fitted.fields):
        name, value = field.name or "", field.value or ""
        if len(name) > FIELD_NAME_LIMIT or len(value) > FIELD_VALUE_LIMIT:
            fitted.set_field_at(
                index,
                name=trim_to_words(name, FIELD_NAME_LIMIT) if name else name,
                value=trim_to_words(value, FIELD_VALUE_LIMIT) if value else value,
                inline=bool(field.inline),
            )
    if fitted.description and len(fitted.description) > DESCRIPTION_LIMIT:
        fitted.description = trim_to_words(fitted.description, DESCRIPTION_LIMIT)
    overflow = embed_characters(fitted) - CHARACTERS_PER_MESSAGE
    if overflow > 0 and fitted.description:
        keep = len(fitted.description) - overflow
        fitted.description = trim_to_words(fitted.description, keep) if keep > 0 else None
    while embed_characters(fitted) > CHARACTERS_PER_MESSAGE and fitted.fields:
        fitted.remove_field(len(fitted.fields) - 1)
    # Without description and fields an embed holds at most 256 + 256 + 2,048 characters: it fits.
    return fitted


def _violations(embed: discord.Embed) -> Iterator[bool]:
    yield len(embed.title or "") > TITLE_LIMIT
    yield len(embed.description or "") > DESCRIPTION_LIMIT
    yield len(embed.author.name or "") > AUTHOR_NAME_LIMIT
    yield len(embed.footer.text or "") > FOOTER_LIMIT
    yield len(embed.fields) > FIELDS_PER_EMBED
    for field in embed.fields:
        yield len(field.name or "") > FIELD_NAME_LIMIT or len(field.value or "") > FIELD_VALUE_LIMIT
    yield embed_characters(embed) > CHARACTERS_PER_MESSAGE


__all__ = [
    "CARD_DESCRIPTION_CHARS",
    "NO_MENTIONS",
    "PALETTE",
    "article_embed",
    "card_summary",
    "embed_characters",
    "pack_embeds",
    "topic_colour",
]
