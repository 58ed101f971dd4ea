"""Shared fixtures: article files in the seed's format, a temp corpus folder, a temp database on
each engine, a clean environment, and the hostile files every parser must reject with a clear
reason.

Every test that uses a store (``database``, ``store_location``, and the sandboxed ``world``) runs
twice: on a SQLite file and on a fresh schema of the PostgreSQL server at
``AINEWS_TEST_POSTGRES_URL`` (default ``postgresql://127.0.0.1:5432/test``), dropped afterwards.
A test of SQLite itself is marked ``sqlite_only``, one of PostgreSQL's server
``postgresql_only``. With no PostgreSQL server, its cases skip with one line; under ``CI=true``
they fail, so CI never passes without them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ainews.store.database import Database
from tests.helpers import (
    SEED_FILE,
    SETTING_NAMES,
    fresh_postgres_schema,
    make_article_text,
    write_article_file,
)


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


def _parametrize_store_engine(metafunc: pytest.Metafunc) -> None:
    """Each test that uses a store runs on both engines (SQLite only, if marked so)."""
    if "store_engine" in metafunc.fixturenames:
        engines = ["sqlite", "postgresql"]
        if metafunc.definition.get_closest_marker("sqlite_only"):
            engines = ["sqlite"]
        elif metafunc.definition.get_closest_marker("postgresql_only"):
            engines = ["postgresql"]
        metafunc.parametrize("store_engine", engines, indirect=True)


@pytest.fixture
def store_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store_location(store_engine: str, tmp_path: Path) -> AsyncIterator[Path | str]:
    """Where a fresh store is: a SQLite file's path, or a PostgreSQL URL of a new schema."""
    if store_engine == "sqlite":
        yield tmp_path / "store" / "ainews.sqlite3"
    else:
        async with fresh_postgres_schema() as url:
            yield url


@pytest.fixture
async def database(store_location: Path | str) -> AsyncIterator[Database]:
    """A migrated database (a temp file, or a fresh PostgreSQL schema), closed after the test."""
    db = await Database.open(store_location)
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


def _is_decoration(field: str) -> bool:
    """Images and related coverage decorate an article: a bad one is dropped, not the article."""
    return field.startswith(("images", "provider.images", "related"))


#: Every field that holds a URL, as (where, overrides for a given URL).
URL_FIELDS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("webUrl", lambda url: {"webUrl": url}),
    ("originalUrl", lambda url: {"originalUrl": url}),
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
        if not _is_decoration(reason)
    ),
    *(
        _hostile(f"url-{kind}-in-{where}", f"{where}: not an absolute http(s) URL", **make(url))
        for where, make in URL_FIELDS
        for kind, url in NOT_WEB_URLS.items()
        if not _is_decoration(where)
    ),
]

#: Files whose only fault is in a decoration (an image, related coverage): the article is kept,
#: without it, and a warning starting with ``reason`` names the field.
DECORATION_CASES: list[HostileCase] = [
    *(
        _hostile(f"wrong-type-{case_id}", reason, **overrides)
        for case_id, overrides, reason in WRONG_TYPES
        if _is_decoration(reason)
    ),
    *(
        _hostile(f"url-{kind}-in-{where}", f"{where}: not an absolute http(s) URL", **make(url))
        for where, make in URL_FIELDS
        for kind, url in NOT_WEB_URLS.items()
        if _is_decoration(where)
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
    "decoration_case": DECORATION_CASES,
    "deep_nesting_case": DEEP_NESTING_CASES,
    "bomb_case": [c for c in HOSTILE_CASES if c.id.endswith("bomb")],
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``hostile_case`` (``decoration_case``, ``deep_nesting_case``,
    ``bomb_case``) runs per case; one that uses a store, on each engine."""
    _parametrize_store_engine(metafunc)
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
