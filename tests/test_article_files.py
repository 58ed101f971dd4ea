"""One curator file in, one typed Article (or one clear reason) out."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ainews.corpus.article import (
    MAX_EXCERPT_CHARS,
    MAX_IMAGES,
    MAX_RELATED,
    MAX_TITLE_CHARS,
    MAX_TOPIC_CHARS,
    MAX_TOPICS,
    Article,
    ArticleError,
    Image,
    Provider,
    RelatedCoverage,
    article_from_front_matter,
    article_from_json,
    article_to_json,
)
from ainews.corpus.files import MAX_FILE_BYTES, parse_article_bytes, read_article_file
from ainews.corpus.urls import article_id_for


def rejection_reason(data: bytes) -> str:
    with pytest.raises(ArticleError) as raised:
        parse_article_bytes(data)
    reason = str(raised.value)
    assert reason and "\n" not in reason, "reasons are one line"
    return reason


# --------------------------------------------------------------------------- the seed


def test_seed_file_gives_every_field_typed(seed_file: Path) -> None:
    scmp = "https://www.scmp.com/tech/big-tech/article/3084988/sony-microsoft-strike-deal-tiny-ai-imaging-chip-huge-potential"
    geekwire = "https://www.geekwire.com/2020/sony-use-microsofts-azure-ai-technology-new-smart-camera-sensors/"
    expected = Article(
        id=article_id_for(scmp),
        title="Sony, Microsoft strike deal on tiny AI imaging chip with huge potential for cameras",
        url=scmp,
        excerpt=(
            "Sony says it will partner with Microsoft to embed artificial intelligence capabilities"
            " into its latest imaging chip, which will be able to analyse video in a self-contained"
            " system without sending any data through remote servers."
        ),
        published_at=datetime(2020, 5, 19, 4, 12, tzinfo=UTC),
        amp_url=scmp.replace("https://www.", "https://amp."),
        cdn_amp_url="https://amp-scmp-com.cdn.ampproject.org/c/s/amp.scmp.com/tech/big-tech/article/3084988/sony-microsoft-strike-deal-tiny-ai-imaging-chip-huge-potential",
        type="article",
        quality=115,
        heat=-1,
        provider=Provider(
            name="South China Morning Post",
            domain="scmp.com",
            images=(
                Image(
                    url="https://smartableai.github.io/artificial-intelligence/assets/images/organizations/scmp.com-50x50.jpg",
                    width=50,
                    height=50,
                ),
            ),
        ),
        topics=("AI Hardware", "AI", "Microsoft AI"),
        images=(
            Image(
                url="https://cdn.i-scmp.com/sites/default/files/styles/og_image_scmp_generic/public/d8/images/methode/2020/05/19/8b4e443c-9984-11ea-96ff-7aff439fc3be_image_hires_121707.jpg?itok=KiFTvH6F&v=1589861847",
                width=1200,
                height=630,
                title="Sony, Microsoft strike deal on tiny AI imaging chip with huge potential"
                " for cameras",
            ),
        ),
        related=(
            RelatedCoverage(
                title="Sony to use Microsoft’s Azure AI technology in new smart camera sensors",
                url=geekwire,
                excerpt=(
                    "Sony Semiconductor Solutions says it will embed Microsoft’s Azure AI"
                    " technology"
                    " into its new intelligent vision sensor for smart cameras under a partnership"
                    " between the companies. Sony will also"
                ),
                published_at=datetime(2020, 5, 18, 21, 5, tzinfo=UTC),
                amp_url=geekwire + "amp/",
                cdn_amp_url="https://www-geekwire-com.cdn.ampproject.org/c/s/www.geekwire.com/2020/sony-use-microsofts-azure-ai-technology-new-smart-camera-sensors/amp/",
                provider=Provider(name="GeekWire", domain="geekwire.com"),
                images=(
                    Image(
                        url="https://cdn.geekwire.com/wp-content/uploads/2020/05/sony-to-use-microsoft-azure-arti-1260x709.jpg",
                        width=1260,
                        height=709,
                    ),
                ),
                quality=121,
            ),
        ),
    )  # fmt: skip

    article = read_article_file(seed_file)

    assert article == expected
    assert article.published_at is not None and article.published_at.utcoffset() == timedelta(0)
    assert (
        article.provider is not None
        and article.provider.icon_url == expected.provider.images[0].url
    )  # type: ignore[union-attr]
    assert article.urls == (scmp, expected.amp_url, expected.cdn_amp_url)
    assert article.related[0].urls == (geekwire, geekwire + "amp/", expected.related[0].cdn_amp_url)


def test_article_survives_the_json_round_trip(seed_file: Path, article_text) -> None:
    seed = read_article_file(seed_file)
    sparse = parse_article_bytes(
        article_text(excerpt=None, publishedDateTime=None, provider=None, images=None).encode()
    )

    for article in (seed, sparse):
        assert article_from_json(article_to_json(article)) == article
    assert json.loads(article_to_json(seed))["published_at"] == "2020-05-19T04:12:00+00:00"


def test_unknown_fields_are_ignored(article_text) -> None:
    plain = parse_article_bytes(article_text().encode())
    with_extras = parse_article_bytes(
        article_text(
            extra_yaml='secured: "BwH2;tBoE=="\n'
            "futureField:\n  nested: [1, 2, {a: b}]\n"
            "42: answer\n"
        ).encode()
    )

    assert with_extras == plain


def test_published_false_is_only_a_rendering_flag(article_text) -> None:
    unpublished = parse_article_bytes(article_text(published=False).encode())
    published = parse_article_bytes(article_text(published=True).encode())

    assert unpublished == published


def test_text_whitespace_is_collapsed(article_text) -> None:
    article = parse_article_bytes(
        article_text(title="  Sony\n and   Microsoft  ", topics=["  AI   Hardware "]).encode()
    )

    assert article.title == "Sony and Microsoft"
    assert article.topics == ("AI Hardware",)


def test_text_is_collapsed_like_split_and_join_whatever_its_white_space() -> None:
    """Text already collapsed is kept as it is without splitting; checked on random text of
    every white space character, letters, and invisible but non-space characters."""
    white = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    pool = white + list("ab é日🤖-") + ["\xad", "\u200b", "\ufeff", "  "]
    generator = random.Random(5)
    for _ in range(3_000):
        title = "x" + "".join(generator.choices(pool, k=generator.randint(0, 12)))
        fields = {"title": title, "webUrl": "https://example.com/a"}

        assert article_from_front_matter(fields).title == " ".join(title.split()), repr(title)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [
        ("2020-05-19T04:12:00Z", datetime(2020, 5, 19, 4, 12, tzinfo=UTC)),
        ("2020-05-19T06:12:00+02:00", datetime(2020, 5, 19, 4, 12, tzinfo=UTC)),
        ("2020-05-18T23:12:00-05:00", datetime(2020, 5, 19, 4, 12, tzinfo=UTC)),
        ("2020-05-19 06:12:00 +02:00", datetime(2020, 5, 19, 4, 12, tzinfo=UTC)),
        ('"2020-05-19T04:12:00Z"', datetime(2020, 5, 19, 4, 12, tzinfo=UTC)),
        ('"2020-05-19T06:12:00+02:00"', datetime(2020, 5, 19, 4, 12, tzinfo=UTC)),
        # No zone: taken as UTC (YAML's timestamp type says so; documented in article.py).
        ("2020-05-19T04:12:00", datetime(2020, 5, 19, 4, 12, tzinfo=UTC)),
        ('"2020-05-19T04:12:00"', datetime(2020, 5, 19, 4, 12, tzinfo=UTC)),
        # A date alone: midnight UTC.
        ("2020-05-19", datetime(2020, 5, 19, tzinfo=UTC)),
        ("'2020-05-19'", datetime(2020, 5, 19, tzinfo=UTC)),
    ],
)
def test_published_date_is_timezone_aware_utc(article_text, yaml_value, expected) -> None:
    text = article_text(publishedDateTime=None, extra_yaml=f"publishedDateTime: {yaml_value}\n")

    published_at = parse_article_bytes(text.encode()).published_at

    assert published_at == expected
    assert published_at is not None and published_at.tzinfo is UTC


def test_related_dates_are_utc_too(article_text) -> None:
    related = {"title": "R", "webUrl": "https://other.example.org/r"}
    text = article_text(related=[{**related, "publishedDateTime": "2020-05-19T06:12:00+02:00"}])

    (item,) = parse_article_bytes(text.encode()).related

    assert item.published_at == datetime(2020, 5, 19, 4, 12, tzinfo=UTC)
    assert item.published_at is not None and item.published_at.tzinfo is UTC


def test_missing_date_is_none(article_text) -> None:
    assert parse_article_bytes(article_text(publishedDateTime=None).encode()).published_at is None


# --------------------------------------------------------------------------- bounds


def test_huge_excerpt_is_accepted_and_bounded(article_text) -> None:
    words = " ".join(f"word{n}" for n in range(200_000))
    assert len(words) > 1_000_000

    article = parse_article_bytes(article_text(excerpt=words).encode())

    assert len(article.excerpt) <= MAX_EXCERPT_CHARS
    assert article.excerpt.endswith("…")
    assert words.startswith(article.excerpt.removesuffix("…"))
    assert words[len(article.excerpt) - 1] == " ", "cut at a word boundary"


def test_long_title_is_bounded(article_text) -> None:
    title = " ".join(["Sony and Microsoft strike a deal"] * 160)
    assert len(title) > 5_000

    article = parse_article_bytes(article_text(title=title).encode())

    assert len(article.title) <= MAX_TITLE_CHARS
    assert article.title.endswith("…")
    assert title.startswith(article.title.removesuffix("…"))


def test_one_enormous_word_is_cut_inside_the_word(article_text) -> None:
    article = parse_article_bytes(article_text(title="A" * 5_000).encode())

    assert article.title == "A" * (MAX_TITLE_CHARS - 1) + "…"


def test_lists_are_bounded_and_topics_deduplicated(article_text) -> None:
    topics = ["AI", "ai", "A.I.", "x" * 500] + [f"Topic {n}" for n in range(40)]
    images = [{"url": f"https://images.example.org/{n}.jpg"} for n in range(MAX_IMAGES + 5)]
    related = [
        {"title": f"R{n}", "webUrl": f"https://o.example/{n}"} for n in range(MAX_RELATED + 5)
    ]

    article = parse_article_bytes(
        article_text(topics=topics, images=images, related=related).encode()
    )

    assert article.topics[:2] == ("AI", "A.I."), "case-insensitive duplicates keep the first"
    assert len(article.topics[2]) <= MAX_TOPIC_CHARS
    assert len(article.topics) == MAX_TOPICS
    assert len(article.images) == MAX_IMAGES
    assert len(article.related) == MAX_RELATED


# --------------------------------------------------------------------------- encodings


def test_bom_and_crlf_give_the_same_article_as_plain(article_text) -> None:
    plain = article_text().encode()
    crlf = plain.replace(b"\n", b"\r\n")
    variants = {"bom": b"\xef\xbb\xbf" + plain, "crlf": crlf, "bom+crlf": b"\xef\xbb\xbf" + crlf}

    expected = parse_article_bytes(plain)

    for name, data in variants.items():
        assert parse_article_bytes(data) == expected, name


def test_invalid_utf8_after_a_bom_names_the_byte_from_the_start_of_the_file() -> None:
    data = b"\xef\xbb\xbf---\ntitle: \xff\n---\n"

    with pytest.raises(ArticleError, match=r"^not valid UTF-8 \(byte 14\)$"):
        parse_article_bytes(data)
    assert data.index(b"\xff") == 14


def test_non_ascii_text_is_kept(article_text) -> None:
    title = "Sony’s “tiny” chip: 日本語, émoji 🤖, C# rocks"

    assert parse_article_bytes(article_text(title=title).encode()).title == title


def test_file_of_exactly_the_size_limit_is_accepted(tmp_path: Path, article_text) -> None:
    head = article_text().encode()
    path = tmp_path / "exactly-2mib.md"
    path.write_bytes(head + b"x" * (MAX_FILE_BYTES - len(head)))
    assert path.stat().st_size == MAX_FILE_BYTES

    assert read_article_file(path).title == parse_article_bytes(head).title


def test_oversized_file_on_disk_is_rejected(tmp_path: Path, article_text) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(article_text().encode() + b"x" * MAX_FILE_BYTES)

    with pytest.raises(ArticleError, match="larger than 2 MiB"):
        read_article_file(path)


def test_unreadable_path_is_an_article_error(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="cannot read the file"):
        read_article_file(tmp_path / "missing.md")
    with pytest.raises(ArticleError, match=r"^not a regular file but a folder: skipped$"):
        read_article_file(tmp_path)


# --------------------------------------------------------------------------- hostile files


def test_hostile_file_is_rejected_with_its_reason(hostile_case) -> None:
    """Every case in conftest.HOSTILE_CASES, one test each."""
    assert hostile_case.reason in rejection_reason(hostile_case.data)


def test_a_bad_decoration_is_dropped_with_a_warning_and_the_article_kept(decoration_case) -> None:
    """Every case in conftest.DECORATION_CASES: the file's fault is in an image or a related
    item, so that one goes, with a warning naming the field, and the article stays."""
    warnings: list[str] = []
    article = parse_article_bytes(decoration_case.data, warnings)

    assert article.title == "Article hostile about AI imaging chips"
    assert len(warnings) == 1
    assert warnings[0].startswith(decoration_case.reason)
    assert warnings[0].endswith(("image dropped", "related item dropped", "; dropped"))
    shown_urls = [image.url for image in article.images] + [r.url for r in article.related]
    if article.provider is not None:
        shown_urls += [image.url for image in article.provider.images]
    for related in article.related:
        shown_urls += [image.url for image in related.images]
    assert all(url.startswith("https://") for url in shown_urls)


def test_yaml_errors_give_the_line_in_the_file(article_text) -> None:
    text = article_text(title=None, extra_yaml="title: @sony\n")
    line = text.splitlines().index("title: @sony") + 1

    assert rejection_reason(text.encode()).startswith(f"invalid YAML at line {line}:")


def test_alias_bomb_under_an_unknown_field_is_quick_and_small(
    article_text, alias_bomb_yaml: str
) -> None:
    """Aliases share one object in PyYAML, so a billion laughs must cost almost nothing."""
    text = article_text(extra_yaml=alias_bomb_yaml).encode()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        article = parse_article_bytes(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert time.perf_counter() - started < 2
    assert peak < 20 * 1024 * 1024
    assert article.title.startswith("Article seedlike")


def test_bombs_are_rejected_quickly(bomb_case) -> None:
    started = time.perf_counter()

    assert bomb_case.reason in rejection_reason(bomb_case.data)
    assert time.perf_counter() - started < 2


NINE_LEVEL_BOMB_SCRIPT = """
import json, sys, time, tracemalloc
from ainews.corpus.article import ArticleError
from ainews.corpus.files import parse_article_bytes
tracemalloc.start()
started = time.perf_counter()
try:
    parse_article_bytes(sys.stdin.buffer.read())
    reason = None
except ArticleError as error:
    reason = str(error)
print(json.dumps([reason, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]]))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "field", "reason"),
    [
        ("sequence", "topics: *l9\n", "topics[0]: expected text, got a list"),
        ("merge", "", "merge keys (<<) copy more than"),
    ],
)
def test_nine_level_bombs_take_under_two_seconds_and_little_memory(
    article_text, yaml_bomb, kind: str, field: str, reason: str
) -> None:
    """Run apart, with a timeout: should a bound regress, 9**9 copies must not take pytest down."""
    data = article_text(topics=None, extra_yaml=yaml_bomb(kind, 9) + field).encode()

    result = subprocess.run(
        [sys.executable, "-c", NINE_LEVEL_BOMB_SCRIPT],
        input=data,
        capture_output=True,
        timeout=20,
        check=False,
    )

    assert result.returncode == 0, result.stderr.decode()[-500:]
    got, seconds, peak_bytes = json.loads(result.stdout)
    assert got is not None and reason in got
    assert seconds < 2
    assert peak_bytes < 20 * 1024 * 1024


DEEP_NESTING_SCRIPT = """
import json, sys
from ainews.corpus.article import ArticleError
from ainews.corpus.files import parse_article_bytes
try:
    parse_article_bytes(sys.stdin.buffer.read())
except ArticleError as error:
    print(json.dumps(str(error)))
"""


@pytest.mark.slow
def test_absurd_nesting_is_rejected_not_a_crash(deep_nesting_case) -> None:
    """Run apart: without the bound, libyaml overflows the C stack and kills the process."""
    result = subprocess.run(
        [sys.executable, "-c", DEEP_NESTING_SCRIPT],
        input=deep_nesting_case.data,
        capture_output=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stderr.decode()[-500:]
    assert deep_nesting_case.reason in json.loads(result.stdout)
