"""A digest's filters on plain articles: words and phrases, accents, providers, quality."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ainews.corpus.article import Article, Provider
from ainews.digest_filters import (
    DigestFilter,
    FilterError,
    format_terms,
    parse_domains,
    parse_terms,
    words_of,
)

ARTICLE = Article(
    id="a1",
    title="Café robots: open-source NPUs reach Linux",
    url="https://news.tech.example.com/2026/npu",
    excerpt="Volunteers shipped a driver for laptop neural processing units.",
    quality=120,
    provider=Provider("Example Tech", domain="tech.example.com"),
)


def test_terms_are_words_or_quoted_phrases_normalised() -> None:
    assert parse_terms('GPU, "Open Source" , Café,“neural processing”') == (
        ("gpu",),
        ("open", "source"),
        ("cafe",),
        ("neural", "processing"),
    )
    assert parse_terms("gpu, GPU, ,") == (("gpu",),)
    assert format_terms(parse_terms('gpu, "open source"')) == 'gpu, "open source"'


def test_words_ignore_case_and_accents() -> None:
    assert words_of("Ça VA, Müller! naïve") == ("ca", "va", "muller", "naive")


@pytest.mark.parametrize(
    ("include", "passes"),
    [
        ("cafe", True),  # the accent does not matter
        ("CAFÉ", True),
        ("robot", False),  # whole words: "robot" is not "robots"
        ("robots", True),
        ('"open source"', True),  # a phrase of consecutive words (the hyphen splits them)
        ('"source open"', False),
        ("windows, linux", True),  # any include
        ("windows, macos", False),
        ('"neural processing units"', True),  # in the excerpt
    ],
)
def test_include_matches_whole_words_of_title_and_excerpt(include: str, passes: bool) -> None:
    assert DigestFilter(include=parse_terms(include)).passes(ARTICLE) is passes


def test_exclude_wins_over_include() -> None:
    both = DigestFilter(include=parse_terms("linux"), exclude=parse_terms("laptop"))
    assert not both.passes(ARTICLE)
    assert DigestFilter(exclude=parse_terms("windows")).passes(ARTICLE)


def test_excluded_providers_cover_their_subdomains() -> None:
    assert not DigestFilter(providers_excluded=parse_domains("example.com")).passes(ARTICLE)
    assert not DigestFilter(providers_excluded=parse_domains("tech.example.com")).passes(ARTICLE)
    assert DigestFilter(providers_excluded=parse_domains("ample.com")).passes(ARTICLE)
    assert DigestFilter(providers_excluded=parse_domains("other.org, example.net")).passes(ARTICLE)


def test_min_quality_lets_articles_without_quality_pass() -> None:
    assert DigestFilter(min_quality=120).passes(ARTICLE)
    assert not DigestFilter(min_quality=121).passes(ARTICLE)
    assert DigestFilter(min_quality=500).passes(replace(ARTICLE, quality=None))


def test_domains_are_read_leniently_and_checked() -> None:
    assert parse_domains("https://www.Example.com/news, sub.example.org") == (
        "example.com",
        "sub.example.org",
    )
    with pytest.raises(FilterError, match="not a domain"):
        parse_domains("not a domain!")


def test_too_many_terms_are_explained_and_an_open_quote_is_read_as_words() -> None:
    assert parse_terms('"never closed') == (("never", "closed"),)
    with pytest.raises(FilterError, match="at most 100 characters"):
        parse_terms("x" * 101)
    with pytest.raises(FilterError, match="at most 25 terms"):
        parse_terms(", ".join(f"w{n}" for n in range(26)))


def test_describe_says_what_is_filtered() -> None:
    assert DigestFilter().describe() == "no filters"
    described = DigestFilter(
        include=parse_terms('"open source"'),
        exclude=parse_terms("crypto"),
        providers_excluded=("example.net",),
        min_quality=100,
    ).describe()
    assert described == (
        'include "open source"; exclude crypto; not from example.net; quality at least 100'
    )
