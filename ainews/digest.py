"""Composing a channel's digest: pure functions from chosen articles to the messages to send.

A digest is a header line (date and counts), the article cards, and one line summing up what did
not fit ("+12 more on AI Hardware · +3 more on Robotics — /news shows them"). Cards are packed
into as many messages as Discord's limits need. Every message ends with a small marker line naming
the delivery and the part, which is how a delivery cut short is recognised in the channel later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

import discord

from ainews.cards import article_embed, compact_embed, pack_cards, with_video_link
from ainews.store.catalog import StoredArticle
from ainews.store.digests import DigestPart, DigestStyle
from ainews.text import trim_to_words

MAX_OVERFLOW_CHARS = 1_200
#: Characters kept free in a part's text for its marker line (see :func:`with_marker`).
MARKER_ROOM = 64
_MARKER = re.compile(r"-# digest ref `(?P<marker>[0-9a-f]{6,32})` · (?P<part>\d+)/(?P<parts>\d+)$")


def compose_digest(
    chosen: Sequence[StoredArticle],
    overflow: Mapping[str, int],
    *,
    topic_names: Sequence[str],
    local_now: datetime,
    style: DigestStyle = "cards",
    mention_role_id: int | None = None,
) -> list[DigestPart]:
    """The messages of a digest of ``chosen`` (newest first, already one per story and at most
    max_items); ``overflow`` counts, per topic name, the unposted articles that did not fit.
    The first message mentions ``mention_role_id``, if given. Nothing chosen: no messages."""
    if not chosen:
        return []
    count = len(chosen)
    header = (
        f"**AI news digest** — {local_now:%A %-d %B %Y} · {count} new "
        f"{'article' if count == 1 else 'articles'} on {_names(topic_names)}"
    )
    if mention_role_id is not None:
        header = f"<@&{mention_role_id}> {header}"
    more = [overflow_line(overflow)] if any(overflow.values()) else []
    if style == "compact":
        return [DigestPart("\n".join([header, *more]), tuple(chosen), "compact")]
    groups = pack_cards([item.article for item in chosen])
    parts: list[DigestPart] = []
    start = 0
    for index, group in enumerate(groups):
        lines = [header] if index == 0 else []
        if index == len(groups) - 1:
            lines += more
        text = with_video_link("\n".join(lines), group.video_url, room=MARKER_ROOM)
        parts.append(DigestPart(text, tuple(chosen[start : start + group.count])))
        start += group.count
    return parts


def forum_post_title(local_now: datetime, topic_names: Sequence[str]) -> str:
    """A forum digest's post title: the date and topics, within Discord's 100 characters."""
    return trim_to_words(f"AI news — {local_now:%-d %B %Y} · {', '.join(topic_names)}", 100)


def part_embeds(part: DigestPart) -> list[discord.Embed]:
    """The embeds of one digest message: a card per article, or one compact list."""
    if part.style == "compact":
        return [compact_embed([item.article for item in part.articles])]
    return [article_embed(item.article) for item in part.articles]


def overflow_line(overflow: Mapping[str, int]) -> str:
    counts = " · ".join(
        f"+{count} more on {discord.utils.escape_markdown(name)}"
        for name, count in overflow.items()
        if count
    )
    return trim_to_words(f"{counts} — /news shows them", MAX_OVERFLOW_CHARS)


def with_marker(text: str, marker: str, part: int, parts: int) -> str:
    """The message text with the delivery marker line added (``part`` counts from 0)."""
    line = f"-# digest ref `{marker}` · {part + 1}/{parts}"
    return f"{text}\n{line}" if text else line


def find_marker(content: str) -> tuple[str, int, int] | None:
    """``(marker, part from 0, parts)`` if ``content`` is a digest message, else None."""
    last_line = content.rsplit("\n", 1)[-1]
    match = _MARKER.search(last_line)
    if match is None:
        return None
    return match["marker"], int(match["part"]) - 1, int(match["parts"])


def _names(topic_names: Sequence[str]) -> str:
    names = [discord.utils.escape_markdown(name) for name in topic_names]
    shown = ", ".join(names[:5])
    if len(names) > 5:
        shown += f" and {len(names) - 5} more topics"
    return trim_to_words(shown, 600)
