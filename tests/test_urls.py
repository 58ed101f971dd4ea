"""Canonical URLs decide which files are the same article; only web URLs are ever stored."""

from __future__ import annotations

import random

import pytest

from ainews.corpus.urls import (
    _PLAIN_ASCII,
    _PLAIN_CANONICAL,
    _WEB_URL,
    MAX_URL_LENGTH,
    article_id_for,
    canonical_url,
    is_web_url,
    url_key,
)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://news.example.com/tech/a", "https://news.example.com/tech/a"),
        ("HTTPS://News.Example.COM/Tech/A", "https://news.example.com/Tech/A"),
        ("https://news.example.com/a#comments", "https://news.example.com/a"),
        (
            "https://news.example.com/a?utm_source=tw&utm_medium=social",
            "https://news.example.com/a",
        ),
        ("https://news.example.com/a?UTM_Campaign=x", "https://news.example.com/a"),
        ("https://news.example.com/a?fbclid=abc", "https://news.example.com/a"),
        ("https://news.example.com/a?gclid=abc&id=7", "https://news.example.com/a?id=7"),
        (
            "https://news.example.com/a?id=7&utm_term=x&page=2",
            "https://news.example.com/a?id=7&page=2",
        ),
        ("https://news.example.com:443/a", "https://news.example.com/a"),
        ("http://news.example.com:80/a", "http://news.example.com/a"),
        ("https://news.example.com:8443/a", "https://news.example.com:8443/a"),
        ("https://news.example.com", "https://news.example.com/"),
        ("  https://news.example.com/a  ", "https://news.example.com/a"),
        ("https://user:secret@news.example.com/a", "https://news.example.com/a"),
        ("https://news.example.com/a?_escaped_fragment_=", "https://news.example.com/a"),
        ("https://news.example.com/a?id=7&_escaped_fragment_=x", "https://news.example.com/a?id=7"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_http_and_https_stay_distinct() -> None:
    assert canonical_url("http://news.example.com/a") != canonical_url("https://news.example.com/a")


def test_article_id_ignores_what_canonical_form_drops() -> None:
    variants = [
        "https://news.example.com/tech/a",
        "HTTPS://NEWS.example.com/tech/a#top",
        "https://news.example.com:443/tech/a?utm_source=x&fbclid=y&gclid=z",
    ]

    ids = {article_id_for(url) for url in variants}

    assert len(ids) == 1
    (article_id,) = ids
    assert len(article_id) == 16 and int(article_id, 16) >= 0


def test_url_key_is_a_signed_64_bit_key_of_the_canonical_form() -> None:
    same = {
        url_key(u) for u in ["https://news.example.com/a", "HTTPS://News.example.com/a?gclid=1#x"]
    }

    assert len(same) == 1
    assert -(2**63) <= same.pop() < 2**63, "fits an SQLite INTEGER"
    assert url_key("https://news.example.com/a") != url_key("https://news.example.com/b")


@pytest.mark.parametrize(
    "other",
    [
        "https://news.example.com/tech/b",
        "https://news.example.com/TECH/a",
        "https://news.example.com/tech/a?id=2",
        "https://other.example.com/tech/a",
    ],
)
def test_different_articles_get_different_ids(other: str) -> None:
    assert article_id_for("https://news.example.com/tech/a") != article_id_for(other)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example.com/a",
        "http://news.example.com",
        "HTTPS://NEWS.EXAMPLE.COM/A?b=c#d",
        "https://news.example.com:8443/a",
        "https://[2001:db8::1]/a",
        "https://news.example.com/" + "a" * (MAX_URL_LENGTH - 25),
    ],
)
def test_web_urls(url: str) -> None:
    assert is_web_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript://news.example.com/%0aalert(1)",
        "ftp://files.example.com/a",
        "data:text/html,<script>alert(1)</script>",
        "mailto:editor@example.com",
        "/relative/path",
        "relative/path",
        "//news.example.com/a",
        "https:///a",
        "https://",
        "https:news.example.com/a",
        "https://news.example.com/a b",
        "https://news.example.com/a\nb",
        "https://news.example.com/\u2003a",
        "https://news.example.com:99999/a",
        "https://news.example.com:port/a",
        "https://[::1/a",
        "https://news.example.com/" + "a" * MAX_URL_LENGTH,
        "",
    ],
)
def test_not_web_urls(url: str) -> None:
    assert not is_web_url(url)


def test_every_web_url_has_a_canonical_form_and_id() -> None:
    """is_web_url guards canonical_url: whatever it accepts must not make canonical_url raise."""
    for url in ["https://[2001:db8::1]:8443/a?x=1#f", "https://news.example.com:1/a", "http://a.b"]:
        assert is_web_url(url)
        assert canonical_url(url).startswith(("http://", "https://"))
        assert len(article_id_for(url)) == 16


def test_quick_check_accepts_only_what_the_full_expressions_accept() -> None:
    """The ASCII expression tried first decides alone for most URLs: it must never accept a URL
    the full checks would refuse or canonicalise differently. Random URLs over the characters
    that matter (case, ports, queries, fragments, blanks, control and non-ASCII characters)."""
    host_alphabet = "az09.-Z_:@é "
    path_alphabet = "aZ09.-/:@%&_~!\"'?# \t\x00\x7f\xa0\u2003é\ud800"
    rng = random.Random(20261127)
    quick = 0
    for _ in range(20_000):
        hosts, paths = host_alphabet[: rng.choice([6, 12])], path_alphabet[: rng.choice([16, 26])]
        host = "".join(rng.choice(hosts) for _ in range(4))
        path = "".join(rng.choice(paths) for _ in range(8))
        url = rng.choice(["https://", "http://", "HTTP://", "ftp://"]) + host + "/" + path
        if _PLAIN_ASCII.fullmatch(url):
            quick += 1
            assert _WEB_URL.fullmatch(url) and _PLAIN_CANONICAL.fullmatch(url), repr(url)
    assert quick > 1_000, "the sample exercises the quick path"
