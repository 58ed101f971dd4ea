"""PostgreSQL's search vectors, built in Python (ainews.store.search_vectors): the server reads
them as it would have built them, within its limits, and queries name the same words."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import AsyncIterator

import pytest

from ainews.store.database import Database
from ainews.store.search_vectors import (
    MAX_POSITION,
    WEIGHT_A,
    WEIGHT_B,
    WEIGHT_C,
    article_search_vector,
    search_lexemes,
    search_vector,
    tsquery_text,
)
from tests.helpers import fresh_postgres_schema

pytestmark = pytest.mark.postgresql_only

#: Letters, digits and what separates words in real articles, accents and scripts included.
ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
    "éÉèàçñøåßÆœİıŁ" + "\u0301\u0308"  # combining accents
    "中文日本語한국어русскийελληνικά" + "١٢٣"  # other scripts, Arabic-Indic digits
    "     \t\n.,;:!?'\"’“”()[]{}<>/\\|@#$%^&*-+=~`·—–…"
    "\u200b\u200d\ufeff" + "🤖🚀"  # zero-width characters, emoji
)


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    async with fresh_postgres_schema() as url, await Database.open(url) as database:
        yield database


def random_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(length))


def expected_words(text: str) -> list[str]:
    """What a word is, said plainly (the module's definition, without its fast paths)."""
    folded = unicodedata.normalize("NFD", text.casefold())
    return re.findall(r"[^\W_]+", re.sub("[\u0300-\u036f]", "", folded))


def as_text(weighted: list[tuple[str, int]]) -> str:
    """The vector as PostgreSQL writes it, built the slow way: each word once, in byte order, at
    its first position (counted across the texts) with the weight of its text there."""
    first: dict[str, str] = {}
    position = 0
    for text, weight in weighted:
        for word in expected_words(text):
            position += 1
            first.setdefault(word, f"{position}{'DCBA'[weight]}")
    return " ".join(
        f"'{word}':{at}" for word, at in sorted(first.items(), key=lambda i: i[0].encode())
    )


def test_words_are_runs_of_letters_and_digits_case_and_accents_folded() -> None:
    assert search_lexemes("Café CAFÉ cafe") == ["cafe", "cafe", "cafe"]
    assert search_lexemes("Node.js, user@mail.org v2.0") == [
        "node", "js", "user", "mail", "org", "v2", "0",
    ]  # fmt: skip
    assert search_lexemes("Straße İstanbul ŁÓDŹ") == ["strasse", "istanbul", "łodz"]
    assert search_lexemes("snake_case 中文 🤖 ") == ["snake", "case", "中文"]
    rng = random.Random(7)
    for _ in range(2_000):
        text = random_text(rng, rng.randrange(0, 60))
        assert search_lexemes(text) == expected_words(text), text


async def test_the_server_reads_each_vector_as_the_words_positions_and_weights_of_the_texts(
    database,
) -> None:
    rng = random.Random(11)
    for _ in range(300):
        weighted = [
            (random_text(rng, rng.randrange(0, 80)), w) for w in (WEIGHT_A, WEIGHT_B, WEIGHT_C)
        ]

        stored = await database.fetchval(
            "SELECT CAST(? AS tsvector)::text", (search_vector(weighted),)
        )

        assert stored == as_text(weighted), weighted


async def test_vectors_match_what_the_server_builds_from_plain_words(database) -> None:
    """For plain words the server's own parser finds the same words, first at the same
    positions (running on across the title, the excerpt and the provider and topics) with the
    same weights; the vector keeps only that first position of each."""
    title, excerpt = "New robots learn to walk", "The robots walk 10 km, then robots rest"
    vector = article_search_vector(title, excerpt, "Example News", ("Robotics", "AI"))
    first = 'SELECT lexeme, positions[1], weights[1] FROM unnest({}) ORDER BY lexeme COLLATE "C"'

    ours = await database.fetch(first.format("CAST(? AS tsvector)"), (vector,))
    servers = await database.fetch(
        first.format(
            "setweight(to_tsvector('simple', ?), 'A') || setweight(to_tsvector('simple', ?), 'B')"
            " || setweight(to_tsvector('simple', 'Example News Robotics AI'), 'C')"
        ),
        (title, excerpt),
    )

    assert [tuple(row) for row in ours] == [tuple(row) for row in servers]
    assert ("robots", 2, "A") in [tuple(row) for row in ours]
    assert (
        await database.fetchval(
            "SELECT max(cardinality(positions)) FROM unnest(CAST(? AS tsvector))", (vector,)
        )
        == 1
    )


async def test_vectors_stay_within_the_servers_limits(database) -> None:
    long_word = "a" * 3_000  # more than a word may be (2,047 bytes): left out, as the server does
    many = " ".join(f"w{n}" for n in range(MAX_POSITION + 100))  # more words than positions
    vector = search_vector([(f"{long_word} kept", WEIGHT_A), (many, WEIGHT_C)])

    positions = dict(
        await database.fetch(
            "SELECT lexeme, positions[1] FROM unnest(CAST(? AS tsvector))", (vector,)
        )
    )

    assert long_word not in positions and positions["kept"] == 2
    last = f"w{MAX_POSITION - 3}"  # the title's two words, then the others up to the last
    assert positions[last] == MAX_POSITION and f"w{MAX_POSITION - 2}" not in positions


async def test_a_vector_larger_than_the_server_takes_keeps_what_fits(database) -> None:
    rng = random.Random(3)
    huge = " ".join("".join(rng.choices("abcdefghij", k=1_500)) for _ in range(1_000))  # 1.5 MB

    words = await database.fetchval(
        "SELECT length(CAST(? AS tsvector))", (search_vector([(huge, WEIGHT_B)]),)
    )

    assert 600 < words < 1_000


async def test_queries_name_the_words_as_stored_whatever_is_typed(database) -> None:
    assert tsquery_text(search_lexemes("Café Node.js")) == "'cafe' & 'node' & 'js':*"
    assert tsquery_text(["a" * 3_000]) == "", "a word longer than any stored matches nothing"
    quoted = tsquery_text(["it's", "a\\b"])
    assert quoted == "'it''s' & 'a\\\\b':*", "quoted whatever it is given"
    assert await database.fetchval("SELECT CAST(? AS tsquery)::text", (quoted,)) == quoted
    rng = random.Random(5)
    for _ in range(200):
        typed = random_text(rng, rng.randrange(1, 300))
        query = tsquery_text(search_lexemes(typed))
        if not query:
            continue
        vector = search_vector([(typed, WEIGHT_A)])

        assert await database.fetchval(
            "SELECT CAST(? AS tsvector) @@ CAST(? AS tsquery)", (vector, query)
        ), typed
