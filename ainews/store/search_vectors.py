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
#: does; positions past the last are not recorded, nor past the 256th of one word.
MAX_WORD_BYTES = 2_047
MAX_POSITION = 16_383
MAX_POSITIONS_PER_WORD = 256
#: The size of a vector's words and positions: past it, no more words are recorded.
MAX_VECTOR_BYTES = (1 << 20) - 1

_WORD = re.compile(r"[^\W_]+")
_ACCENTS = re.compile("[\u0300-\u036f]")
#: Inside a quoted lexeme, quotes and backslashes are doubled.
_QUOTES_DOUBLED = str.maketrans({"'": "''", "\\": "\\\\"})
#: A word of this many characters or fewer is at most MAX_WORD_BYTES long in UTF-8.
_SURELY_SHORT_WORD = MAX_WORD_BYTES // 4
_COUNT = struct.Struct(">i")
#: A word's NUL (a pad byte), its count of positions and the positions, by count.
_POSITIONS = [struct.Struct(f">xH{n}H") for n in range(MAX_POSITIONS_PER_WORD + 1)]
#: The same, made once, for a word in one early position (most words of an article).
_ONE_POSITION = {
    position | weight << 14: _POSITIONS[1].pack(1, position | weight << 14)
    for weight in range(4)
    for position in range(1, 1024)
}


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
    """A ``tsvector`` in the server's binary form (``tsvectorrecv``): every word of each text
    with its positions (counted across the texts) and the text's weight; the words in byte order
    (UTF-8 keeps code point order, which is ``str`` order), each once, with its count of
    positions and the positions after it."""
    positions = _positions(weighted_texts)
    lexemes = [
        lexeme
        for lexeme in sorted(positions)
        if len(lexeme) <= _SURELY_SHORT_WORD or len(lexeme.encode()) <= MAX_WORD_BYTES
    ]
    if not lexemes:
        return _COUNT.pack(0)
    # An upper bound of the size as the server counts it (4 bytes a character, 4 a position).
    if 4 * sum(map(len, lexemes)) + 4 * sum(map(len, positions.values())) > MAX_VECTOR_BYTES:
        lexemes = _within_size(lexemes, positions)
    suffixes = []  # what follows each word's NUL: its count of positions, and the positions
    for lexeme in lexemes:
        found = positions[lexeme]
        suffix = _ONE_POSITION.get(found[0]) if len(found) == 1 else None
        if suffix is None:
            count = min(len(found), MAX_POSITIONS_PER_WORD)
            suffix = _POSITIONS[count].pack(count, *found[:count])
        suffixes.append(suffix)
    parts = [_COUNT.pack(len(lexemes))] * (2 * len(lexemes) + 1)
    parts[1::2] = "\0".join(lexemes).encode().split(b"\0")
    parts[2::2] = suffixes
    return b"".join(parts)


def _positions(weighted_texts: Iterable[tuple[str, int]]) -> dict[str, list[int]]:
    """Each word's positions (with their weights) in order."""
    positions: dict[str, list[int]] = {}
    found_for = positions.get
    position = 0
    for text, weight in weighted_texts:
        words = search_lexemes(text)
        mark = weight << 14
        if position + len(words) <= MAX_POSITION:
            first = position + 1
            for position, word in enumerate(words, first):  # the count goes on
                found = found_for(word)
                if found is None:
                    positions[word] = [position | mark]
                else:
                    found.append(position | mark)
            continue
        for word in words:  # past the last position, words are all at it, as on the server
            position = min(position + 1, MAX_POSITION)
            found = found_for(word)
            if found is None:
                positions[word] = [position | mark]
            elif found[-1] & MAX_POSITION < position:
                found.append(position | mark)
    return positions


def _within_size(lexemes: list[str], positions: dict[str, list[int]]) -> list[str]:
    """The first of ``lexemes`` that fit the server's size of a vector."""
    size = 0
    for index, lexeme in enumerate(lexemes):
        size += len(lexeme.encode()) + 4 * min(len(positions[lexeme]), MAX_POSITIONS_PER_WORD) + 4
        if size > MAX_VECTOR_BYTES:
            return lexemes[:index]
    return lexemes


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
