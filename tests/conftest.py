"""Shared fixtures: article files in the seed's format, a temp corpus folder, a temp database.

Helpers are handed out as fixtures (``article_text``, ``write_article``) rather than imported,
since ``conftest`` is not a package module. Overrides name front-matter fields; ``None`` leaves
the field out, and ``extra_yaml`` is appended verbatim for cases a Python value cannot express.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ainews.settings import SAMPLE_CORPUS
from ainews.store.database import Database

SEED_FILE = SAMPLE_CORPUS / "sony-microsoft-ai-imaging-chip.md"
#: This checkout: on the PYTHONPATH of the ``python -m ainews`` processes tests start, so they run
#: this code whatever is installed.
CHECKOUT = str(Path(__file__).resolve().parent.parent)

#: Every setting the bot reads; cleared for each settings and CLI test.
SETTING_NAMES = (
    "DISCORD_TOKEN",
    "DISCORD_API_BASE",
    "DISCORD_GATEWAY_URL",
    "NEWS_DIR",
    "DATABASE_PATH",
    "COMMAND_GUILD_IDS",
    "NEWS_RESCAN_SECONDS",
    "LOG_LEVEL",
)


def default_fields(slug: str) -> dict[str, Any]:
    """Front matter like the seed's, naming a distinct article for each ``slug``."""
    return {
        "category": "news",
        "title": f"Article {slug} about AI imaging chips",
        "excerpt": f"Excerpt for {slug}: a chip that analyses video without sending data away.",
        "publishedDateTime": datetime(2020, 5, 19, 4, 12, tzinfo=UTC),
        "webUrl": f"https://news.example.com/tech/{slug}",
        "ampWebUrl": f"https://amp.news.example.com/tech/{slug}",
        "cdnAmpWebUrl": f"https://amp-news-example-com.cdn.ampproject.org/c/s/amp.news.example.com/tech/{slug}",
        "type": "article",
        "quality": 115,
        "heat": -1,
        "published": False,
        "provider": {
            "name": "Example News",
            "domain": "news.example.com",
            "images": [
                {"url": "https://static.example.net/news-50x50.png", "width": 50, "height": 50}
            ],
        },
        "topics": ["AI Hardware", "AI"],
        "images": [
            {
                "url": f"https://images.example.org/{slug}.jpg",
                "width": 1200,
                "height": 630,
                "title": f"Article {slug}",
            }
        ],
    }


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one
    if value == {} or value == []:
        return json.dumps(value)
    raise TypeError(f"cannot write {value!r} as YAML")


def _block(value: dict[str, Any] | list[Any], indent: int) -> list[str]:
    """Block mappings and sequences as curators' tools write them (2 spaces, compact ``- k: v``)."""
    pad = " " * indent
    lines: list[str] = []
    pairs = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    for key, item in pairs:
        lead = f"{pad}{key}:" if isinstance(value, dict) else f"{pad}-"
        if isinstance(item, dict | list) and item:
            nested = _block(item, indent + 2)
            if isinstance(value, dict):
                lines += [lead, *nested]
            else:
                lines += [f"{lead} {nested[0].lstrip()}", *nested[1:]]
        else:
            lines.append(f"{lead} {_scalar(item)}")
    return lines


def make_article_text(
    slug: str = "seedlike", *, extra_yaml: str = "", body: str = "Body text.\n", **overrides: Any
) -> str:
    fields = default_fields(slug)
    for name, value in overrides.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    front_matter = "\n".join(_block(fields, 0)) + "\n" + extra_yaml
    return f"---\n{front_matter.rstrip(chr(10))}\n---\n\n{body}"


def write_article_file(directory: Path, name: str, **overrides: Any) -> Path:
    """Write ``directory/name`` (``.md`` added when there is no suffix) in the seed's format."""
    path = directory / name
    if not path.suffix:
        path = path.with_suffix(".md")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(make_article_text(path.stem, **overrides), encoding="utf-8")
    return path


@pytest.fixture
def article_text() -> Callable[..., str]:
    """``article_text(slug="x", extra_yaml="", body="", **overrides) -> str``."""
    return make_article_text


@pytest.fixture
def write_article() -> Callable[..., Path]:
    """``write_article(directory, name, **overrides) -> Path``."""
    return write_article_file


@pytest.fixture
def tmp_corpus(tmp_path: Path) -> Path:
    """An empty corpus folder."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    return corpus


@pytest.fixture
def seed_file() -> Path:
    return SEED_FILE


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database in a temp file, closed after the test."""
    db = await Database.open(tmp_path / "store" / "ainews.sqlite3")
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No bot settings in the environment, and a fresh working directory with no ``.env``."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    yield workdir


# --------------------------------------------------------------------------- hostile files


@dataclass(frozen=True)
class HostileCase:
    """A file that must be rejected, and a fragment of the one-line reason that must name why."""

    id: str
    data: bytes
    reason: str


def _hostile(case_id: str, reason: str, *, extra_yaml: str = "", **overrides: Any) -> HostileCase:
    text = make_article_text("hostile", extra_yaml=extra_yaml, **overrides)
    return HostileCase(case_id, text.encode(), reason)


def _bomb(kind: str, levels: int = 9) -> str:
    """Nine-fold aliases nested ``levels`` deep: a sequence "billion laughs" or a merge-key one."""
    if kind == "sequence":
        lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
        lines += [f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    else:
        lines = ["lol0: &l0 {a: 1}"]
        lines += [
            f"lol{n}: &l{n} {{<<: [{', '.join([f'*l{n - 1}'] * 9)}]}}" for n in range(1, levels + 1)
        ]
    return "\n".join(lines) + "\n"


ALIAS_BOMB = _bomb("sequence")
#: Six levels copy 9**6 pairs, 50 times the bound: rejected, yet if the bound ever regressed the
#: in-process tests fail in seconds (accepted), where nine levels would exhaust memory.
MERGE_BOMB = _bomb("merge", levels=6)

_RELATED = {"title": "Related coverage", "webUrl": "https://other.example.org/related"}
_IMAGE = {"url": "https://images.example.org/a.jpg", "width": 10, "height": 10}

#: (id, overrides, reason): one wrong type in each field.
WRONG_TYPES: list[tuple[str, dict[str, Any], str]] = [
    ("title-list", {"title": ["a", "b"]}, "title: expected text, got a list"),
    ("title-number", {"title": 42}, "title: expected text, got int"),
    ("title-missing", {"title": None}, "title: required"),
    ("title-blank", {"title": "   "}, "title: required"),
    ("excerpt-mapping", {"excerpt": {"text": "x"}}, "excerpt: expected text, got a mapping"),
    ("webUrl-int", {"webUrl": 12345}, "webUrl: expected a URL, got int"),
    ("webUrl-missing", {"webUrl": None}, "webUrl: required"),
    (
        "ampWebUrl-list",
        {"ampWebUrl": ["https://a.example/"]},
        "ampWebUrl: expected a URL, got a list",
    ),
    ("cdnAmpWebUrl-bool", {"cdnAmpWebUrl": True}, "cdnAmpWebUrl: expected a URL, got true/false"),
    (
        "date-int",
        {"publishedDateTime": 1589861520},
        "publishedDateTime: expected a date and time, got int",
    ),
    (
        "date-list",
        {"publishedDateTime": ["2020-05-19"]},
        "publishedDateTime: expected a date and time, got a list",
    ),
    ("type-int", {"type": 3}, "type: expected text, got int"),
    ("quality-text", {"quality": "high"}, "quality: expected a whole number, got text"),
    ("quality-float", {"quality": 1.5}, "quality: expected a whole number, got float"),
    ("heat-bool", {"heat": True}, "heat: expected a whole number, got true/false"),
    ("topics-text", {"topics": "AI"}, "topics: expected a list, got text"),
    ("topics-dicts", {"topics": [{"name": "AI"}]}, "topics[0]: expected text, got a mapping"),
    ("topics-nested-list", {"topics": ["AI", ["ML"]]}, "topics[1]: expected text, got a list"),
    ("provider-text", {"provider": "SCMP"}, "provider: expected a mapping of fields, got text"),
    ("provider-no-name", {"provider": {"domain": "scmp.com"}}, "provider.name: required"),
    (
        "provider-domain-int",
        {"provider": {"name": "P", "domain": 7}},
        "provider.domain: expected text, got int",
    ),
    (
        "provider-images-text",
        {"provider": {"name": "P", "images": "logo.png"}},
        "provider.images: expected a list, got text",
    ),
    (
        "provider-images-mapping",
        {"provider": {"name": "P", "images": {"url": "https://a.example/x.png"}}},
        "provider.images: expected a list, got a mapping",
    ),
    (
        "images-text",
        {"images": "https://images.example.org/a.jpg"},
        "images: expected a list, got text",
    ),
    (
        "images-item-text",
        {"images": ["https://images.example.org/a.jpg"]},
        "images[0]: expected a mapping of fields, got text",
    ),
    ("images-no-url", {"images": [{"width": 5}]}, "images[0].url: required"),
    (
        "images-width-text",
        {"images": [{**_IMAGE, "width": "wide"}]},
        "images[0].width: expected a whole number, got text",
    ),
    (
        "images-height-bool",
        {"images": [{**_IMAGE, "height": False}]},
        "images[0].height: expected a whole number, got true/false",
    ),
    (
        "images-title-list",
        {"images": [{**_IMAGE, "title": ["t"]}]},
        "images[0].title: expected text, got a list",
    ),
    (
        "related-text",
        {"related": "https://other.example.org/x"},
        "related: expected a list, got text",
    ),
    (
        "related-item-text",
        {"related": ["https://other.example.org/x"]},
        "related[0]: expected a mapping of fields, got text",
    ),
    ("related-no-webUrl", {"related": [{"title": "R"}]}, "related[0].webUrl: required"),
    (
        "related-no-title",
        {"related": [{"webUrl": "https://other.example.org/x"}]},
        "related[0].title: required",
    ),
    (
        "related-webUrl-int",
        {"related": [{"title": "R", "webUrl": 5}]},
        "related[0].webUrl: expected a URL, got int",
    ),
    (
        "related-quality-text",
        {"related": [{**_RELATED, "quality": "good"}]},
        "related[0].quality: expected a whole number, got text",
    ),
    (
        "related-provider-list",
        {"related": [_RELATED, {**_RELATED, "provider": ["P"]}]},
        "related[1].provider: expected a mapping of fields, got a list",
    ),
    (
        "related-date-text",
        {"related": [{**_RELATED, "publishedDateTime": "soon"}]},
        "related[0].publishedDateTime: not an ISO 8601 date and time: 'soon'",
    ),
]

#: Every field that holds a URL, as (where, overrides for a given URL).
URL_FIELDS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("webUrl", lambda url: {"webUrl": url}),
    ("ampWebUrl", lambda url: {"ampWebUrl": url}),
    ("cdnAmpWebUrl", lambda url: {"cdnAmpWebUrl": url}),
    ("images[0].url", lambda url: {"images": [{"url": url}]}),
    ("provider.images[0].url", lambda url: {"provider": {"name": "P", "images": [{"url": url}]}}),
    ("related[0].webUrl", lambda url: {"related": [{"title": "R", "webUrl": url}]}),
    ("related[0].ampWebUrl", lambda url: {"related": [{**_RELATED, "ampWebUrl": url}]}),
    ("related[0].images[0].url", lambda url: {"related": [{**_RELATED, "images": [{"url": url}]}]}),
]

#: URLs that must never be stored or sent to Discord.
NOT_WEB_URLS = {
    "javascript": "javascript:alert(document.cookie)",
    "ftp": "ftp://files.example.com/article.txt",
    "relative": "/tech/article/123",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "protocol-relative": "//news.example.com/tech/a",
    "no-host": "https:///tech/a",
    "bad-port": "https://news.example.com:99999/a",
    "bad-ipv6": "https://[::1/a",
}

HOSTILE_CASES: list[HostileCase] = [
    HostileCase("empty-file", b"", "empty file"),
    HostileCase("whitespace-only", b"  \n\t\r\n   \n", "empty file"),
    HostileCase(
        "binary-nul", b"---\ntitle: \x00\x01\x02\n---\n" + bytes(range(256)), "binary file"
    ),
    HostileCase(
        "invalid-utf8",
        make_article_text("hostile").encode().replace(b"Article", b"Art\xffcle", 1),
        "not valid UTF-8",
    ),
    HostileCase(
        "latin1-file",
        make_article_text("hostile", title="Café déjà vu").encode("latin-1"),
        "not valid UTF-8",
    ),
    HostileCase(
        "too-large",
        make_article_text("hostile", body="x" * (2 * 1024 * 1024)).encode(),
        "larger than 2 MiB",
    ),
    HostileCase(
        "no-front-matter",
        b"# Sony and Microsoft\n\nJust Markdown, no front matter.\n",
        "no front matter",
    ),
    HostileCase("front-matter-not-first", b"\n---\ntitle: x\n---\n", "no front matter"),
    HostileCase(
        "unterminated",
        make_article_text("hostile").rsplit("---", 1)[0].encode(),
        "not terminated by a '---' line",
    ),
    HostileCase(
        "front-matter-list",
        b"---\n- title\n- webUrl\n---\n",
        "front matter: expected a mapping of fields, got a list",
    ),
    HostileCase(
        "front-matter-scalar",
        b"---\njust some words\n---\n",
        "front matter: expected a mapping of fields, got text",
    ),
    HostileCase(
        "front-matter-number",
        b"---\n42\n---\n",
        "front matter: expected a mapping of fields, got int",
    ),
    HostileCase(
        "front-matter-empty", b"---\n---\nbody\n", "front matter: expected a mapping of fields"
    ),
    _hostile(
        "yaml-unclosed-quote",
        "invalid YAML at line",
        title=None,
        extra_yaml='title: "never closed\n',
    ),
    _hostile(
        "yaml-unclosed-flow",
        "invalid YAML at line",
        topics=None,
        extra_yaml="topics: [AI, Robotics\n",
    ),
    _hostile(
        "yaml-colon-in-plain",
        "invalid YAML at line",
        title=None,
        extra_yaml="title: Sony: a deal: big\n",
    ),
    _hostile(
        "yaml-bad-indent",
        "invalid YAML at line",
        provider=None,
        extra_yaml="provider:\n    name: P\n  domain: d\n",
    ),
    _hostile("yaml-tab-indent", "invalid YAML", provider=None, extra_yaml="provider:\n\tname: P\n"),
    _hostile("yaml-reserved-char", "invalid YAML at line", title=None, extra_yaml="title: @sony\n"),
    _hostile("yaml-undefined-alias", "invalid YAML", title=None, extra_yaml="title: *nowhere\n"),
    _hostile(
        "yaml-python-tag",
        "invalid YAML",
        title=None,
        extra_yaml="title: !!python/object/apply:os.system [echo hi]\n",
    ),
    _hostile(
        "yaml-invalid-timestamp",
        "invalid YAML value: day is out of range",
        publishedDateTime=None,
        extra_yaml="publishedDateTime: 2020-02-30\n",
    ),
    _hostile(
        "yaml-bad-int-tag", "invalid YAML value", quality=None, extra_yaml="quality: !!int lots\n"
    ),
    _hostile(
        "alias-bomb",
        "topics[0]: expected text, got a list",
        topics=None,
        extra_yaml=ALIAS_BOMB + "topics: *l9\n",
    ),
    _hostile("merge-key-bomb", "merge keys (<<) copy more than", extra_yaml=MERGE_BOMB),
    _hostile(
        "date-words",
        "publishedDateTime: not an ISO 8601 date and time: 'yesterday'",
        publishedDateTime="yesterday",
    ),
    _hostile(
        "date-month-13",
        "publishedDateTime: not an ISO 8601 date and time",
        publishedDateTime="2020-13-01T00:00:00Z",
    ),
    _hostile(
        "date-overflows-utc",
        "publishedDateTime: out of range in UTC",
        publishedDateTime=None,
        extra_yaml="publishedDateTime: 0001-01-01T00:30:00+01:00\n",
    ),
    *(
        _hostile(f"wrong-type-{case_id}", reason, **overrides)
        for case_id, overrides, reason in WRONG_TYPES
    ),
    *(
        _hostile(f"url-{kind}-in-{where}", f"{where}: not an absolute http(s) URL", **make(url))
        for where, make in URL_FIELDS
        for kind, url in NOT_WEB_URLS.items()
    ),
]

#: Nesting that crashes libyaml's recursive composer unless bounded: run these in a subprocess.
DEEP_NESTING_CASES: list[HostileCase] = [
    _hostile("flow-sequences", "nested deeper than", extra_yaml="deep: " + "[" * 100_000 + "\n"),
    _hostile("flow-mappings", "nested deeper than", extra_yaml="deep: " + "{a: " * 100_000 + "\n"),
    _hostile(
        "block-sequences", "nested deeper than", extra_yaml="deep:\n" + "- " * 100_000 + "x\n"
    ),
]


_CASE_PARAMETERS = {
    "hostile_case": HOSTILE_CASES,
    "deep_nesting_case": DEEP_NESTING_CASES,
    "bomb_case": [c for c in HOSTILE_CASES if c.id.endswith("bomb")],
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``hostile_case`` (``deep_nesting_case``, ``bomb_case``) runs per case."""
    for name, cases in _CASE_PARAMETERS.items():
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, cases, ids=[case.id for case in cases])


@pytest.fixture
def alias_bomb_yaml() -> str:
    """Nine levels of nine-fold sequence aliases (a "billion laughs"), as top-level fields."""
    return ALIAS_BOMB


@pytest.fixture
def yaml_bomb() -> Callable[[str, int], str]:
    """``yaml_bomb("sequence" | "merge", levels)``: top-level fields of nine-fold aliases."""
    return _bomb


@pytest.fixture
def all_hostile_cases() -> list[HostileCase]:
    return HOSTILE_CASES + DEEP_NESTING_CASES
