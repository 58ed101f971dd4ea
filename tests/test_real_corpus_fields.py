"""What real curated corpora hold beyond our seed: videos without a webUrl, originalUrl aliases,
HTML entities and tags in text, relative image paths. One file at a time, no store."""

from __future__ import annotations

import pytest

from ainews.corpus.article import ArticleError, clean_html_text
from ainews.corpus.files import parse_article_bytes
from ainews.corpus.urls import article_id_for

WATCH_URL = "https://www.youtube.com/watch?v=Zx9aYc1uQ2E"
IFRAME = (
    '<iframe width="560" height="315" src="https://www.youtube.com/embed/Zx9aYc1uQ2E" '
    'frameborder="0" allowfullscreen></iframe>'
)


def parse(article_text, **fields) -> tuple:
    warnings: list[str] = []
    article = parse_article_bytes(article_text(**fields).encode(), warnings)
    return article, warnings


def test_a_video_with_only_original_url_is_accepted_and_playable(article_text) -> None:
    video, warnings = parse(
        article_text,
        type="video",
        webUrl=None,
        ampWebUrl=None,
        cdnAmpWebUrl=None,
        originalUrl=WATCH_URL,
        featuredContent=IFRAME,
    )

    assert warnings == []
    assert video.url == WATCH_URL and video.id == article_id_for(WATCH_URL)
    assert video.video_url == WATCH_URL
    assert video.original_url is None  # it is the identity itself, not an alias


def test_a_video_plays_its_embedded_player_else_its_own_url(article_text) -> None:
    """Only the iframe's src is read, as a watch URL; the HTML itself goes nowhere."""
    with_player, _ = parse(
        article_text,
        type="video",
        webUrl="https://videos.example.com/watch/robot-demo",
        featuredContent=IFRAME,
    )
    without, _ = parse(
        article_text, type="video", webUrl="https://videos.example.com/watch/robot-demo"
    )
    bad_player, _ = parse(
        article_text,
        type="video",
        originalUrl="https://vimeo.example.com/123",
        featuredContent='<iframe src="javascript:alert(1)"></iframe>',
    )

    assert with_player.video_url == WATCH_URL
    assert without.video_url == "https://videos.example.com/watch/robot-demo"
    assert bad_player.video_url == "https://vimeo.example.com/123"


def test_articles_are_not_videos(article_text) -> None:
    article, _ = parse(article_text, featuredContent=IFRAME)

    assert article.type == "article" and article.video_url is None


def test_original_url_is_an_alias_and_web_url_stays_the_identity(article_text) -> None:
    article, _ = parse(article_text, originalUrl="https://outlet.example.net/story?utm_source=x")

    assert article.url == "https://news.example.com/tech/seedlike"
    assert article.id == article_id_for(article.url)
    assert article.original_url == "https://outlet.example.net/story?utm_source=x"
    assert "https://outlet.example.net/story?utm_source=x" in article.urls


def test_a_file_without_web_url_or_original_url_is_rejected(article_text) -> None:
    with pytest.raises(ArticleError, match=r"^webUrl: required \(or originalUrl"):
        parse(article_text, webUrl=None)


def test_html_entities_and_tags_are_cleaned_in_text(article_text) -> None:
    article, _ = parse(
        article_text,
        title="OpenAI&#8217;s &#8220;o5&#8221; &amp; <b>the</b> race",
        excerpt="<p>Lab&nbsp;says &lt;b&gt; is text.</p>",
        provider={"name": "Ars&nbsp;Technica &amp; Co"},
        related=[{"title": "Rival&#8217;s take", "webUrl": "https://rival.example.org/take"}],
    )

    assert article.title == "OpenAI’s “o5” & the race"
    assert article.excerpt == "Lab says <b> is text."
    assert article.provider is not None and article.provider.name == "Ars Technica & Co"
    assert article.related[0].title == "Rival’s take"


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("a < b and c > d", "a < b and c > d"),
        ("I <3 robots", "I <3 robots"),
        ("see <#42> or </news:1> at <t:0:R>", "see <#42> or </news:1> at <t:0:R>"),
        ("R&D at AT&T", "R&D at AT&T"),
        ("<!-- note -->kept", " kept"),
    ],
)
def test_cleaning_leaves_what_is_not_html_alone(text: str, clean: str) -> None:
    assert clean_html_text(text) == clean


def test_a_relative_provider_icon_is_dropped_with_a_warning(article_text) -> None:
    article, warnings = parse(
        article_text,
        provider={
            "name": "Smartable",
            "images": [{"url": "/assets/images/organizations/example.com-50x50.jpg"}],
        },
    )

    assert article.provider is not None and article.provider.images == ()
    assert warnings == [
        "provider.images[0].url: not an absolute http(s) URL: "
        "'/assets/images/organizations/example.com-50x50.jpg'; image dropped"
    ]
