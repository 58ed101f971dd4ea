"""The article model: one curator file's front matter, validated and typed.

Strict where a mistake would post the wrong thing, lenient where curators' tools are sloppy:

- identity (``webUrl``, else ``originalUrl``; the AMP aliases), the title and wrongly typed core
  fields are strict: the file raises :class:`ArticleError` with a one-line reason naming the field;
- decorations (an image or icon without a usable http(s) URL, a related item that does not
  validate) are dropped from the article, each with a warning naming the field, and the article
  is kept.

Text is cleaned once, here: HTML tags removed, HTML entities decoded, white space collapsed.
Unknown fields are ignored. ``published: false`` is a site-rendering flag of this format, not an
editorial one, and is ignored. Over-long text is kept, but bounded (see the ``MAX_*`` limits) at
a word boundary with an ellipsis.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

import orjson

from ainews.corpus.urls import article_id_for, is_web_url
from ainews.text import trim_to_words

MAX_TITLE_CHARS = 300
MAX_EXCERPT_CHARS = 4_000
MAX_NAME_CHARS = 256
MAX_TOPIC_CHARS = 100
MAX_TOPICS = 25
MAX_IMAGES = 10
MAX_RELATED = 20
#: An HTML tag or comment: a name of letters, digits and hyphens, then attributes, ``/`` or
#: ``>``. So "a < b", "x <3" and Discord's own syntax (``<#42>``, ``</news:1>``, ``<t:0:R>``) stay.
_HTML_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>", re.DOTALL)
#: The ``src`` of an ``<iframe>`` in ``featuredContent`` (a video's player).
_IFRAME_SRC = re.compile(r"""<iframe\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_YOUTUBE_EMBED = re.compile(r"https?://(?:www\.)?youtube(?:-nocookie)?\.com/embed/([\w-]{6,})")


class ArticleError(ValueError):
    """Why a file is not a valid article, in one line (shown to curators as-is)."""


#: Where validation notes what it dropped from an article (one line each, naming the field).
Warnings = list[str]


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domain: str | None = None
    images: tuple[Image, ...] = ()

    @property
    def icon_url(self) -> str | None:
        return self.images[0].url if self.images else None


def _present(*urls: str | None) -> tuple[str, ...]:
    return tuple(url for url in urls if url)


@dataclass(frozen=True, slots=True)
class RelatedCoverage:
    """Another source's coverage of the same story, as listed under ``related``."""

    title: str
    url: str
    excerpt: str = ""
    published_at: datetime | None = None
    amp_url: str | None = None
    cdn_amp_url: str | None = None
    provider: Provider | None = None
    images: tuple[Image, ...] = ()
    quality: int | None = None

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL this coverage is known by, the AMP aliases included."""
        return _present(self.url, self.amp_url, self.cdn_amp_url)


@dataclass(frozen=True, slots=True)
class Article:
    id: str  #: from the canonical identity URL, :attr:`url`
    title: str
    url: str  #: the identity URL: ``webUrl``, else ``originalUrl`` (a video's often has only that)
    excerpt: str = ""
    published_at: datetime | None = None
    amp_url: str | None = None
    cdn_amp_url: str | None = None
    type: str | None = None
    quality: int | None = None
    heat: int | None = None
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[RelatedCoverage, ...] = ()
    original_url: str | None = None
    #: For a video, the URL Discord shows a player for (a watch URL); None for other articles.
    video_url: str | None = None

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL that names this article: its identity URL and its aliases (originalUrl and
        the AMP copies). Another file sharing any of them holds the same story."""
        return _present(self.url, self.original_url, self.amp_url, self.cdn_amp_url)


def article_from_front_matter(front_matter: object, warnings: Warnings | None = None) -> Article:
    """Validate parsed front matter into an :class:`Article`, or raise :class:`ArticleError`.

    What was dropped from the article (see the module's docstring) is added to ``warnings``."""
    fields = _mapping(front_matter, "front matter")
    get = fields.get
    notes: Warnings = [] if warnings is None else warnings
    web_url = _url(get("webUrl"), "", "webUrl")
    original_url = _url(get("originalUrl"), "", "originalUrl")
    url = web_url or original_url
    if url is None:
        raise ArticleError("webUrl: required (or originalUrl, for an item without one)")
    type_ = _text(get("type"), "", "type", MAX_NAME_CHARS) or None
    # Fields are checked in this order, which decides which problem a bad file reports.
    return Article(
        id=article_id_for(url),
        title=_text(get("title"), "", "title", MAX_TITLE_CHARS, required=True),
        url=url,
        excerpt=_text(get("excerpt"), "", "excerpt", MAX_EXCERPT_CHARS),
        published_at=_datetime(get("publishedDateTime"), "", "publishedDateTime"),
        amp_url=_url(get("ampWebUrl"), "", "ampWebUrl"),
        cdn_amp_url=_url(get("cdnAmpWebUrl"), "", "cdnAmpWebUrl"),
        type=type_,
        quality=_integer(get("quality"), "", "quality"),
        heat=_integer(get("heat"), "", "heat"),
        provider=_provider(get("provider"), "provider", notes),
        topics=_topics(get("topics")),
        images=_images(get("images"), "images", notes),
        related=_related_items(get("related"), notes),
        original_url=original_url if original_url != url else None,
        video_url=_video_url(original_url, web_url, get("featuredContent"))
        if type_ == "video"
        else None,
    )


def _video_url(original_url: str | None, web_url: str | None, featured: object) -> str | None:
    """A video's playable URL: the player in ``featuredContent`` (only the iframe's ``src`` is
    read, as a watch URL; the HTML is never rendered), else ``originalUrl``, else ``webUrl``."""
    if isinstance(featured, str):
        found = _IFRAME_SRC.search(featured)
        source = html.unescape(found[1]).strip() if found else ""
        if is_web_url(source):
            return _watch_url(source)
    return _watch_url(original_url or web_url or "") or None


def _watch_url(url: str) -> str:
    """YouTube's player URL (``/embed/ID``) as its watch URL, which Discord plays inline."""
    embedded = _YOUTUBE_EMBED.match(url)
    return f"https://www.youtube.com/watch?v={embedded[1]}" if embedded else url


# The checks below run for every field of every file, so they take the common case first and
# build the field's name for a message (``where`` + ``.`` + ``name``) only when there is one.


def _field(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _type_name(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _mapping(value: object, where: str) -> Mapping[Any, Any]:
    if not isinstance(value, dict):
        raise ArticleError(f"{where}: expected a mapping of fields, got {_type_name(value)}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ArticleError(f"{where}: expected a list, got {_type_name(value)}")
    return value


def _text(value: object, where: str, name: str, limit: int, *, required: bool = False) -> str:
    if isinstance(value, str) and value:
        if "&" in value or "<" in value:
            value = clean_html_text(value)
        # White space collapsed to single spaces. Text is usually so already: str.isprintable
        # is false for every white space character but the space, so this checks it in a scan.
        if value.isprintable() and "  " not in value and value[0] != " " != value[-1]:
            text = value
        else:  # control characters (a NUL, which PostgreSQL cannot store) become spaces too
            text = " ".join(_CONTROL_CHARACTERS.sub(" ", value).split())
        if text:
            return text if len(text) <= limit else trim_to_words(text, limit)
    elif value is not None and value != "":
        raise ArticleError(f"{_field(where, name)}: expected text, got {_type_name(value)}")
    if required:  # None, "" or only white space
        raise ArticleError(f"{_field(where, name)}: required")
    return ""


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_html_text(text: str) -> str:
    """``text`` without HTML tags and with HTML entities decoded (``&#8217;`` becomes a right
    single quote), in that order, so an escaped tag (``&lt;b&gt;``) stays as text."""
    return html.unescape(_HTML_TAG.sub(" ", text) if "<" in text else text)


def _url(value: object, where: str, name: str, *, required: bool = False) -> str | None:
    if isinstance(value, str) and value:
        url = value.strip()
        if not is_web_url(url):
            raise ArticleError(f"{_field(where, name)}: not an absolute http(s) URL: {url[:80]!r}")
        return url
    if value is not None and value != "":
        raise ArticleError(f"{_field(where, name)}: expected a URL, got {_type_name(value)}")
    if required:
        raise ArticleError(f"{_field(where, name)}: required")
    return None


def _integer(value: object, where: str, name: str) -> int | None:
    if type(value) is int or value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArticleError(
            f"{_field(where, name)}: expected a whole number, got {_type_name(value)}"
        )
    return value


def _datetime(value: object, where: str, name: str) -> datetime | None:
    """Timezone-aware UTC. A value without a zone is taken as UTC, as YAML's timestamp type says."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ArticleError(
                f"{_field(where, name)}: not an ISO 8601 date and time: {value[:40]!r}"
            ) from None
    else:
        raise ArticleError(
            f"{_field(where, name)}: expected a date and time, got {_type_name(value)}"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ArticleError(
            f"{_field(where, name)}: out of range in UTC: {moment.isoformat()}"
        ) from None


def _topics(value: object) -> tuple[str, ...]:
    topics: dict[str, str] = {}
    for index, item in enumerate(_list(value, "topics")):
        name = _text(item, "", f"topics[{index}]", MAX_TOPIC_CHARS)
        if name:
            topics.setdefault(name.casefold(), name)
    return tuple(topics.values())[:MAX_TOPICS]


def _images(value: object, where: str, warnings: Warnings) -> tuple[Image, ...]:
    """The valid images; one that is not (no URL, a relative one, a bad size) is dropped with a
    warning: an image decorates a card, it never decides whether an article is shown."""
    if value is None:
        return ()
    images = []
    for index, item in enumerate(_decoration_list(value, where, warnings)[:MAX_IMAGES]):
        place = f"{where}[{index}]"
        try:
            get = _mapping(item, place).get
            url = _url(get("url"), place, "url", required=True)
            assert url is not None
            images.append(
                Image(
                    url=url,
                    width=_integer(get("width"), place, "width"),
                    height=_integer(get("height"), place, "height"),
                    title=_text(get("title"), place, "title", MAX_TITLE_CHARS) or None,
                )
            )
        except ArticleError as problem:
            warnings.append(f"{problem}; image dropped")
    return tuple(images)


def _decoration_list(value: object, where: str, warnings: Warnings) -> list[Any]:
    if isinstance(value, list):
        return value
    warnings.append(f"{where}: expected a list, got {_type_name(value)}; dropped")
    return []


def _provider(value: object, where: str, warnings: Warnings) -> Provider | None:
    if value is None:
        return None
    get = _mapping(value, where).get
    name = _text(get("name"), where, "name", MAX_NAME_CHARS, required=True)
    return Provider(
        name=name,
        domain=_text(get("domain"), where, "domain", MAX_NAME_CHARS) or None,
        images=_images(get("images"), f"{where}.images", warnings),
    )


def _related_items(value: object, warnings: Warnings) -> tuple[RelatedCoverage, ...]:
    """The valid related coverage; an item that does not validate is dropped with a warning
    (it only links stories: a bad one must not cost the article itself)."""
    items = []
    if value is None:
        return ()
    for index, item in enumerate(_decoration_list(value, "related", warnings)[:MAX_RELATED]):
        place = f"related[{index}]"
        try:
            items.append(_related(item, place, warnings))
        except ArticleError as problem:
            warnings.append(f"{problem}; related item dropped")
    return tuple(items)


def _related(value: object, where: str, warnings: Warnings) -> RelatedCoverage:
    get = _mapping(value, where).get
    url = _url(get("webUrl"), where, "webUrl", required=True)
    assert url is not None
    return RelatedCoverage(
        title=_text(get("title"), where, "title", MAX_TITLE_CHARS, required=True),
        url=url,
        excerpt=_text(get("excerpt"), where, "excerpt", MAX_EXCERPT_CHARS),
        published_at=_datetime(get("publishedDateTime"), where, "publishedDateTime"),
        amp_url=_url(get("ampWebUrl"), where, "ampWebUrl"),
        cdn_amp_url=_url(get("cdnAmpWebUrl"), where, "cdnAmpWebUrl"),
        provider=_provider(get("provider"), f"{where}.provider", warnings),
        images=_images(get("images"), f"{where}.images", warnings),
        quality=_integer(get("quality"), where, "quality"),
    )


def article_to_json(article: Article) -> bytes:
    """The article as compact JSON in UTF-8, for the store (inverse: :func:`article_from_json`).

    Bytes, not text: the store binds them as text as they are, and they cross from a parsing
    worker to the saving process as they are (a str of non-ASCII text would be decoded from
    UTF-8, then encoded again twice on its way; see bench/RESULTS.md)."""
    return orjson.dumps(article)


#: The fields of an article's JSON that its card shows (see :func:`ainews.cards.article_embed`):
#: a change to any of them is worth editing a posted card for; curation tools' rewrites of the
#: others (``heat``, ``quality``, a signature) are not.
CARD_FIELDS = (
    "title",
    "url",
    "excerpt",
    "published_at",
    "provider",
    "images",
    "topics",
    "related",
    "video_url",
)


def card_changed(old_json: str | bytes, new_json: str | bytes) -> bool:
    """Whether the card of the article in ``new_json`` differs from the one in ``old_json``."""
    old, new = orjson.loads(old_json), orjson.loads(new_json)
    return any(old.get(name) != new.get(name) for name in CARD_FIELDS)


class IndexedFields(NamedTuple):
    """What the store indexes an article by, as read back from its JSON."""

    urls: tuple[str, ...]  #: :attr:`Article.urls`
    related_urls: tuple[str, ...]  #: the :attr:`RelatedCoverage.urls` of every related item
    topics: list[str]


def indexed_fields_from_json(text: str | bytes) -> IndexedFields:
    """:class:`IndexedFields` of an article's JSON, without building the article (a sixth of
    the time: the store reads them to update what it indexes an article by)."""
    fields = orjson.loads(text)
    return IndexedFields(
        urls=_present_json(fields),
        related_urls=tuple(url for item in fields["related"] for url in _present_json(item)),
        topics=fields["topics"],
    )


def _present_json(fields: dict[str, Any]) -> tuple[str, ...]:
    return _present(
        fields["url"], fields.get("original_url"), fields["amp_url"], fields["cdn_amp_url"]
    )


def article_from_json(text: str | bytes) -> Article:
    fields = orjson.loads(text)
    return Article(
        **{
            **fields,
            "published_at": _from_iso(fields["published_at"]),
            "provider": _provider_from_json(fields["provider"]),
            "topics": tuple(fields["topics"]),
            "images": _images_from_json(fields["images"]),
            "related": tuple(
                RelatedCoverage(
                    **{
                        **item,
                        "published_at": _from_iso(item["published_at"]),
                        "provider": _provider_from_json(item["provider"]),
                        "images": _images_from_json(item["images"]),
                    }
                )
                for item in fields["related"]
            ),
        }
    )


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _images_from_json(items: list[dict[str, Any]]) -> tuple[Image, ...]:
    return tuple(Image(**item) for item in items)


def _provider_from_json(fields: dict[str, Any] | None) -> Provider | None:
    if fields is None:
        return None
    return Provider(**{**fields, "images": _images_from_json(fields["images"])})
