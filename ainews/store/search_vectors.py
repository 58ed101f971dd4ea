"""PostgreSQL's search vectors, built in Python: one definition of a word for articles and for
what members type.

An article's ``tsvector`` (title weighs A, excerpt B, provider and topics C) is built by the
parsing workers, in parallel, and sent to the server in its binary form. Letting the server build
it from the text (``to_tsvector`` in a generated column) cost more than half the server's work in
a cold ingest, and the server is the one part of an ingest that does not run in parallel
(bench/RESULTS.md). Queries use the same words: :func:`tsquery_text` names lexemes exactly as
:func:`search_vector` stored them, so nothing the server's own parser does can make the two
differ.

A word is a run of letters and digits, as for SQLite's full-text index (``_`` separates words:
"snake_case" is "snake" and "case"), case-folded, with Latin accents dropped (decomposed,
combining marks U+0300-U+036F removed): "Café" and "cafe" are one word, and so are "Straße" and
"strasse"; "Node.js" is "node" and "js".
"""

from __future__ import annotations

import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence

#: Weights as the server stores them (the top two bits of a position): A is 3, D is 0.
WEIGHT_A, WEIGHT_B, WEIGHT_C = 3, 2, 1
#: The server's limits (tsearch's ts_type.h): longer words are left out, as ``to_tsvector``
#: leaves them out; so are words first found past the last position (an article has far fewer
#: words).
MAX_WORD_BYTES = 2_047
MAX_POSITION = 16_383
#: The size of a vector's words and positions: past it, no more words are recorded.
MAX_VECTOR_BYTES = (1 << 20) - 1

_WORD = re.compile(r"[^\W_]+")
_ACCENTS = re.compile("[\u0300-\u036f]")
#: Inside a quoted lexeme, quotes and backslashes are doubled.
_QUOTES_DOUBLED = str.maketrans({"'": "''", "\\": "\\\\"})
#: A word of this many characters or fewer is at most MAX_WORD_BYTES long in UTF-8.
_SURELY_SHORT_WORD = MAX_WORD_BYTES // 4
_COUNT = struct.Struct(">i")
#: A word's NUL (a pad byte), its count of positions and its position.
_ONE_POSITION = struct.Struct(">xHH")


def search_lexemes(text: str) -> list[str]:
    """The words of ``text`` as the search vector stores them, in order."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _ACCENTS.sub("", unicodedata.normalize("NFD", folded))
    # What _WORD finds, faster: most white-space-separated tokens are whole words already
    # (str.isalnum is true of letters and digits, as [^\W_] matches them).
    words: list[str] = []
    for token in folded.split():
        if token.isalnum():
            words.append(token)
        else:
            words += _WORD.findall(token)
    return words


def search_vector(weighted_texts: Iterable[tuple[str, int]]) -> bytes:
    """A ``tsvector`` in the server's binary form (``tsvectorrecv``): every word of the texts
    once, at its first position (counted across the texts), with the weight of the text it is
    first found in; the words in byte order (UTF-8 keeps code point order, which is ``str``
    order), each followed by its NUL, its count of positions (1) and its position.

    One position a word, not every one: ranking (``ts_rank``) gives a word's later occurrences
    a quarter, a ninth... of the weight of its first, so they change little, and storing them
    cost the parsing workers a fifth more time (bench/RESULTS.md). Built-in functions do the
    work over all the words at once, with no Python loop a word: the workers build one vector
    per article."""
    words: list[str] = []
    marked: list[int] = []  # each word's position, with its weight in the top bits
    for text, weight in weighted_texts:
        found = search_lexemes(text)[: MAX_POSITION - len(words)]
        first = len(words) + 1 + (weight << 14)
        words += found
        marked += range(first, first + len(found))
    # Read backwards, each word's first position is the one that stays.
    first_at = dict(zip(reversed(words), reversed(marked), strict=True))
    lexemes = sorted(first_at)
    if not lexemes:
        return _COUNT.pack(0)
    if max(map(len, lexemes)) > _SURELY_SHORT_WORD:  # maybe too long a word for the server
        lexemes = [word for word in lexemes if len(word.encode()) <= MAX_WORD_BYTES]
    # An upper bound of the size as the server counts it: 4 bytes a character, 8 a word.
    if 4 * sum(map(len, lexemes)) + 8 * len(lexemes) > MAX_VECTOR_BYTES:
        lexemes = _within_size(lexemes)
    parts = [_COUNT.pack(len(lexemes))] * (2 * len(lexemes) + 1)
    parts[1::2] = "\0".join(lexemes).encode().split(b"\0")
    parts[2::2] = map(_AFTER_WORD.__getitem__, map(first_at.__getitem__, lexemes))
    return b"".join(parts)


def _within_size(lexemes: list[str]) -> list[str]:
    """The first of ``lexemes`` that fit the server's size of a vector."""
    size = 0
    for index, lexeme in enumerate(lexemes):
        size += len(lexeme.encode()) + 8
        if size > MAX_VECTOR_BYTES:
            return lexemes[:index]
    return lexemes


class _AfterWord(dict[int, bytes]):
    """What follows a word's bytes, by its position (with weight): its NUL, its count of
    positions (1) and the position; each made once."""

    def __missing__(self, position: int) -> bytes:
        after = self[position] = _ONE_POSITION.pack(1, position)
        return after


_AFTER_WORD = _AfterWord()


def article_search_vector(
    title: str, excerpt: str, provider_name: str, topics: Sequence[str]
) -> bytes:
    """An article's search vector: the title weighs most, then the excerpt, then provider and
    topics."""
    return search_vector(
        ((title, WEIGHT_A), (excerpt, WEIGHT_B), (" ".join((provider_name, *topics)), WEIGHT_C))
    )


def tsquery_text(lexemes: Sequence[str]) -> str:
    """The ``tsquery`` (cast from text, so read as written: no parser) for a search for
    ``lexemes`` (from :func:`search_lexemes` of what was typed): ANDed, the last one also a
    prefix. Empty when nothing can match (no word, or one longer than any stored)."""
    if not lexemes or any(len(lexeme.encode()) > MAX_WORD_BYTES for lexeme in lexemes):
        return ""
    # Letters and digits need no quoting; whatever else a caller passes is quoted all the same.
    quoted = [f"'{lexeme.translate(_QUOTES_DOUBLED)}'" for lexeme in lexemes]
    quoted[-1] += ":*"
    return " & ".join(quoted)
