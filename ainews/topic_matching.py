"""Matching what a member typed against the corpus topics (autocomplete and "did you mean")."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from ainews.store.catalog import TopicStats

MAX_CHOICES = 25


def suggest_topics(
    topics: Sequence[TopicStats], typed: str, limit: int = MAX_CHOICES
) -> list[TopicStats]:
    """Prefix matches, then word-prefix and substring matches, then fuzzy ones; busiest first.

    ``topics`` must already be ordered busiest first (as :meth:`NewsCatalog.topics` returns).
    """
    needle = " ".join(typed.casefold().split())
    if not needle:
        return list(topics[:limit])
    prefix = [t for t in topics if t.key.startswith(needle)]
    inner = [
        t
        for t in topics
        if not t.key.startswith(needle)
        and (any(word.startswith(needle) for word in t.key.split()) or needle in t.key)
    ]
    found = prefix + inner
    if len(found) < limit:
        chosen = {t.key for t in found}
        fuzzy = closest_topics(topics, typed, limit - len(found))
        found += [t for t in fuzzy if t.key not in chosen]
    return found[:limit]


def closest_topics(topics: Sequence[TopicStats], typed: str, limit: int = 5) -> list[TopicStats]:
    """The topics whose names look most like ``typed`` (for an unknown-topic answer)."""
    by_key = {t.key: t for t in topics}
    close = difflib.get_close_matches(typed.casefold().strip(), by_key, n=limit, cutoff=0.5)
    return [by_key[key] for key in close]
