"""Bounding text to a length the way a reader expects: at a word boundary, with an ellipsis."""

from __future__ import annotations

ELLIPSIS = "…"


def trim_to_words(text: str, limit: int) -> str:
    """Return ``text`` if it fits in ``limit`` characters, else cut at a word boundary plus "…".

    A single word longer than the limit is cut inside the word. The result never exceeds ``limit``.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS)]
    cut = head.rstrip()
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip(" \n\t,;:.-–—") + ELLIPSIS
