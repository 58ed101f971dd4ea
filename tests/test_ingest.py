"""Ingest: the store follows the corpus folder, incrementally, whatever the files hold."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import socket
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ainews.corpus.scan import CorpusFile, CorpusPathError
from ainews.corpus.urls import article_id_for, url_key
from ainews.ingest import (
    BULK_GC_THRESHOLD,
    PROCESS_POOL_THRESHOLD,
    WORKER_NICENESS,
    CorpusReport,
    Rejection,
    _parsing_executor,
    check_corpus,
    ingest_corpus,
    parse_corpus_files,
)
from ainews.settings import SAMPLE_CORPUS
from ainews.store.articles import ArticleRepository
from ainews.store.database import Database


async def ingest(database: Database, root: Path, **kwargs: Any) -> CorpusReport:
    return await ingest_corpus(ArticleRepository(database), root, **kwargs)


async def rows(database: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await database.fetch(sql, params)]


async def active_of(database: Database, url: str) -> int | None:
    found = await rows(database, "SELECT active FROM articles WHERE id = ?", article_id_for(url))
    return found[0][0] if found else None


def url_of(slug: str) -> str:
    """The webUrl conftest's ``write_article`` gives a file named ``slug``."""
    return f"https://news.example.com/tech/{slug}"


def counts(report: CorpusReport) -> tuple[int, int, int, int]:
    return report.ingested, report.unchanged, report.withdrawn, len(report.rejected)


def replace_keeping_stat(path: Path, data: bytes) -> None:
    """New content of the same size, with the old mtime put back: a scan cannot tell."""
    before = path.stat()
    assert len(data) == before.st_size
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def five_articles(tmp_corpus: Path, write_article) -> list[Path]:
    return [write_article(tmp_corpus, f"article-{n}") for n in range(5)]


# --------------------------------------------------------------------------- first run


async def test_sample_corpus_ingests_cleanly(database: Database) -> None:
    files = sorted(SAMPLE_CORPUS.rglob("*.md"))

    report = await ingest(database, SAMPLE_CORPUS)

    assert report.rejected == []
    assert report.ingested == len(files) > 30
    assert await ArticleRepository(database).count_active() == len(files)


async def test_control_characters_in_text_become_spaces_on_either_engine(
    database, tmp_corpus, write_article
) -> None:
    """A NUL (a valid YAML escape), which PostgreSQL cannot store, or another control
    character in a title: the file is indexed, the characters read as spaces."""
    nul = write_article(tmp_corpus, "nul", title="A title with a NUL \x00 and a bell \x07 in it")
    assert "\\u0000" in nul.read_text(), "written as YAML's escape"
    write_article(tmp_corpus, "plain")

    report = await ingest(database, tmp_corpus)

    assert (report.ingested, report.rejected) == (2, [])
    titles = {title for (title,) in await rows(database, "SELECT title FROM articles")}
    assert "A title with a NUL and a bell in it" in titles


async def test_unpublished_articles_are_still_served(database, tmp_corpus, write_article) -> None:
    write_article(tmp_corpus, "draft", published=False)
    write_article(tmp_corpus, "live", published=True)

    report = await ingest(database, tmp_corpus)

    assert counts(report) == (2, 0, 0, 0)
    assert await active_of(database, url_of("draft")) == 1


async def test_which_files_count(database, tmp_corpus, write_article) -> None:
    write_article(tmp_corpus, "a.md")
    write_article(tmp_corpus, "b.markdown")
    write_article(tmp_corpus, "sub/c.md")
    write_article(tmp_corpus, "notes.txt")
    write_article(tmp_corpus, ".drafts/d.md")
    write_article(tmp_corpus, ".e.md")

    report = await ingest(database, tmp_corpus)

    assert counts(report) == (3, 0, 0, 0)
    assert {row[0] for row in await rows(database, "SELECT path FROM source_files")} == {
        str(tmp_corpus / "a.md"),
        str(tmp_corpus / "b.markdown"),
        str(tmp_corpus / "sub" / "c.md"),
    }


async def test_one_file_can_be_the_whole_corpus(database, tmp_corpus, write_article) -> None:
    path = write_article(tmp_corpus, "only")
    write_article(tmp_corpus, "other")

    report = await ingest(database, path)

    assert report.root == str(path)
    assert counts(report) == (1, 0, 0, 0)
    assert counts(await ingest(database, path)) == (0, 1, 0, 0)


async def test_missing_corpus_is_a_path_error(database, tmp_path) -> None:
    with pytest.raises(CorpusPathError):
        await ingest(database, tmp_path / "nowhere")


# --------------------------------------------------------------------------- later runs


async def test_second_run_changes_nothing(database, tmp_corpus, five_articles) -> None:
    await ingest(database, tmp_corpus)

    assert counts(await ingest(database, tmp_corpus)) == (0, 5, 0, 0)


async def test_unchanged_files_are_not_read(database, tmp_corpus, five_articles) -> None:
    await ingest(database, tmp_corpus)
    garbage = b"\x00 not an article \xff" * 1000
    target = five_articles[2]
    replace_keeping_stat(target, garbage[: target.stat().st_size])

    assert counts(await ingest(database, tmp_corpus)) == (0, 5, 0, 0)

    touch_later(target)  # now a scan sees the change: the garbage is read and rejected
    report = await ingest(database, tmp_corpus)

    assert counts(report) == (0, 4, 0, 1)
    assert report.rejected == [Rejection(str(target), "binary file, not Markdown text")]


async def test_changed_file_is_parsed_again(
    database, tmp_corpus, write_article, five_articles
) -> None:
    await ingest(database, tmp_corpus)
    write_article(tmp_corpus, "article-1", title="A corrected headline")
    touch_later(five_articles[1])

    report = await ingest(database, tmp_corpus)

    assert counts(report) == (1, 4, 0, 0)
    assert await rows(
        database, "SELECT title FROM articles WHERE id = ?", article_id_for(url_of("article-1"))
    ) == [("A corrected headline",)]


async def test_removed_file_withdraws_its_article_but_keeps_history(
    database, tmp_corpus, five_articles
) -> None:
    await ingest(database, tmp_corpus)
    five_articles[0].unlink()

    report = await ingest(database, tmp_corpus)

    assert counts(report) == (0, 4, 1, 0)
    assert await active_of(database, url_of("article-0")) == 0
    assert await ArticleRepository(database).count_active() == 4
    assert await rows(database, "SELECT count(*) FROM articles") == [(5,)]


async def test_file_turning_invalid_is_rejected_and_its_article_withdrawn(
    database, tmp_corpus, write_article, five_articles
) -> None:
    await ingest(database, tmp_corpus)
    write_article(tmp_corpus, "article-3", quality="excellent")
    touch_later(five_articles[3])

    report = await ingest(database, tmp_corpus)

    assert report.rejected == [
        Rejection(str(five_articles[3]), "quality: expected a whole number, got text")
    ]
    assert report.ingested == 0
    assert await active_of(database, url_of("article-3")) == 0
    assert await ArticleRepository(database).count_active() == 4

    write_article(tmp_corpus, "article-3")  # fixed again
    touch_later(five_articles[3])
    assert counts(await ingest(database, tmp_corpus)) == (1, 4, 0, 0)
    assert await active_of(database, url_of("article-3")) == 1


async def test_rejected_files_stay_reported_on_later_runs(
    database, tmp_corpus, write_article
) -> None:
    write_article(tmp_corpus, "good")
    bad = write_article(tmp_corpus, "bad", webUrl="javascript:alert(1)")

    first = await ingest(database, tmp_corpus)
    second = await ingest(database, tmp_corpus)

    expected = [Rejection(str(bad), "webUrl: not an absolute http(s) URL: 'javascript:alert(1)'")]
    assert (first.rejected, counts(first)) == (expected, (1, 0, 0, 1))
    assert (second.rejected, counts(second)) == (expected, (0, 1, 0, 1))


async def test_rejected_file_leaves_no_half_written_rows(
    database, tmp_corpus, write_article
) -> None:
    write_article(tmp_corpus, "good", topics=["Robotics"])
    bad = write_article(
        tmp_corpus,
        "zebra",
        topics=["Zebra Studies"],
        quality="very good",  # the last field checked: everything else validated first
    )

    await ingest(database, tmp_corpus)

    assert await rows(
        database, "SELECT article_id, error FROM source_files WHERE path = ?", str(bad)
    ) == [(None, "quality: expected a whole number, got text")]
    assert await active_of(database, url_of("zebra")) is None
    assert await rows(database, "SELECT key FROM topics") == [("robotics",)]
    assert await rows(database, "SELECT count(*) FROM article_urls") == [(3,)]
    assert await rows(database, "SELECT count(*) FROM article_related") == [(0,)]


async def test_file_that_changes_its_webUrl_swaps_articles(
    database, tmp_corpus, write_article
) -> None:
    path = write_article(tmp_corpus, "story")
    await ingest(database, tmp_corpus)
    write_article(tmp_corpus, "story", webUrl="https://news.example.com/tech/story-v2")
    touch_later(path)

    assert (await ingest(database, tmp_corpus)).ingested == 1
    assert await active_of(database, url_of("story")) == 0
    assert await active_of(database, "https://news.example.com/tech/story-v2") == 1


# --------------------------------------------------------------------------- identity and stories


async def test_same_article_in_two_files_is_one_article(
    database, tmp_corpus, write_article
) -> None:
    first = write_article(tmp_corpus, "copy-1", webUrl="https://News.Example.com/a?utm_source=x")
    second = write_article(tmp_corpus, "copy-2", webUrl="https://news.example.com/a#top")
    repository = ArticleRepository(database)

    assert (await ingest(database, tmp_corpus)).ingested == 2
    assert await repository.count_active() == 1

    first.unlink()
    assert counts(await ingest(database, tmp_corpus)) == (0, 1, 0, 0)
    assert await repository.count_active() == 1

    second.unlink()
    assert counts(await ingest(database, tmp_corpus)) == (0, 0, 1, 0)
    assert await repository.count_active() == 0
    assert await active_of(database, "https://news.example.com/a") == 0


async def test_amp_aliases_name_the_same_article(database, tmp_corpus, write_article) -> None:
    write_article(tmp_corpus, "chip")
    await ingest(database, tmp_corpus)
    amp = "https://amp.news.example.com/tech/chip"
    cdn = "https://amp-news-example-com.cdn.ampproject.org/c/s/amp.news.example.com/tech/chip"

    keys = [url_key(url_of("chip") + "?utm_source=x"), url_key(amp), url_key(cdn + "#top")]

    found = await rows(
        database, "SELECT url_key, article_id FROM article_urls WHERE url_key IN (?, ?, ?)", *keys
    )

    assert sorted(found) == sorted((key, article_id_for(url_of("chip"))) for key in keys)


async def test_stories_group_coverage_found_in_the_corpus(
    database, tmp_corpus, write_article
) -> None:
    def coverage(web: str, amp: str | None = None) -> list[dict[str, str]]:
        item = {"title": "Coverage", "webUrl": web}
        return [item | {"ampWebUrl": amp}] if amp else [item]

    write_article(tmp_corpus, "chip")
    write_article(tmp_corpus, "chip-analysis", related=coverage(url_of("chip") + "?utm_medium=rss"))
    write_article(tmp_corpus, "bill")
    write_article(
        tmp_corpus,
        "bill-reaction",
        related=coverage(
            "https://mirror.example.org/bill", amp="https://amp.news.example.com/tech/bill"
        ),
    )
    write_article(tmp_corpus, "lonely", related=coverage("https://outside.example.org/elsewhere"))
    await ingest(database, tmp_corpus)

    story = dict(await rows(database, "SELECT id, story_id FROM articles"))

    def story_of(slug: str) -> str:
        return story[article_id_for(url_of(slug))]

    assert story_of("chip") == story_of("chip-analysis")
    assert story_of("bill") == story_of("bill-reaction")
    assert story_of("chip") != story_of("bill")
    assert story_of("lonely") == article_id_for(url_of("lonely"))
    assert len(set(story.values())) == 3


# --------------------------------------------------------------------------- hostile files


async def test_hostile_file_is_rejected_and_good_files_indexed(
    database, tmp_corpus, write_article, hostile_case
) -> None:
    """Every case in conftest.HOSTILE_CASES, next to two good files."""
    write_article(tmp_corpus, "good-1")
    write_article(tmp_corpus, "good-2")
    bad = tmp_corpus / "hostile.md"
    bad.write_bytes(hostile_case.data)

    report = await ingest(database, tmp_corpus)

    assert [r.path for r in report.rejected] == [str(bad)]
    assert hostile_case.reason in report.rejected[0].reason
    assert report.ingested == 2
    assert await ArticleRepository(database).count_active() == 2


async def test_a_bad_decoration_is_a_warning_and_its_article_indexed(
    database, tmp_corpus, write_article, decoration_case
) -> None:
    write_article(tmp_corpus, "good")
    decorated = tmp_corpus / "decorated.md"
    decorated.write_bytes(decoration_case.data)

    report = await ingest(database, tmp_corpus)

    assert report.rejected == [] and report.ingested == 2
    assert [w.path for w in report.warnings] == [str(decorated)]
    assert report.warnings[0].message.startswith(decoration_case.reason)
    assert await ArticleRepository(database).count_active() == 2


async def test_symlink_trouble_is_reported_and_good_files_indexed(
    database, tmp_corpus, write_article
) -> None:
    write_article(tmp_corpus, "good")
    write_article(tmp_corpus, "sub/inner")
    (tmp_corpus / "a.md").symlink_to(tmp_corpus / "b.md")
    (tmp_corpus / "b.md").symlink_to(tmp_corpus / "a.md")
    (tmp_corpus / "broken.md").symlink_to(tmp_corpus / "deleted.md")
    (tmp_corpus / "sub" / "up").symlink_to("..")
    expected = [
        Rejection(str(tmp_corpus / "a.md"), "symlink loop"),
        Rejection(str(tmp_corpus / "b.md"), "symlink loop"),
        Rejection(str(tmp_corpus / "broken.md"), "broken symlink"),
    ]

    first = await ingest(database, tmp_corpus)
    second = await ingest(database, tmp_corpus)

    assert (first.rejected, counts(first)) == (expected, (2, 0, 0, 3))
    assert (second.rejected, counts(second)) == (expected, (0, 2, 0, 3))

    write_article(tmp_corpus, "deleted")  # the broken link now points at an article
    third = await ingest(database, tmp_corpus)
    assert [r.reason for r in third.rejected] == ["symlink loop", "symlink loop"]
    assert third.ingested == 2, "the new file and the link to it"


async def test_check_reports_what_ingest_rejects(database, tmp_corpus, write_article) -> None:
    write_article(tmp_corpus, "good")
    write_article(tmp_corpus, "bad-date", publishedDateTime="last Tuesday")
    (tmp_corpus / "gone.md").symlink_to(tmp_corpus / "nothing.md")

    checked = await check_corpus(tmp_corpus)
    ingested = await ingest(database, tmp_corpus)

    assert checked.rejected == ingested.rejected
    assert len(checked.rejected) == 2
    assert checked.ingested == ingested.ingested == 1


# --------------------------------------------------------------------------- many files


@pytest.mark.slow
async def test_large_corpus_is_parsed_in_worker_processes(
    database, tmp_corpus, write_article
) -> None:
    count = PROCESS_POOL_THRESHOLD + 20
    for n in range(count):
        write_article(
            tmp_corpus, f"{n // 100}/article-{n}", excerpt=None, images=None, provider=None
        )
    bad = write_article(tmp_corpus, "9/broken", title=None)
    progress: list[tuple[int, int]] = []

    report = await ingest(
        database, tmp_corpus, progress=lambda done, total: progress.append((done, total))
    )

    assert counts(report) == (count, 0, 0, 1)
    assert report.rejected == [Rejection(str(bad), "title: required")]
    assert await ArticleRepository(database).count_active() == count
    assert progress[-1] == (count + 1, count + 1)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)

    again = await ingest(database, tmp_corpus)
    assert counts(again) == (0, count, 0, 1)


async def test_related_urls_are_stored_canonical(database, tmp_corpus, write_article) -> None:
    write_article(
        tmp_corpus,
        "a",
        related=[
            {
                "title": "R",
                "webUrl": "HTTPS://Other.example.org/r?fbclid=1#x",
                "ampWebUrl": "https://amp.other.example.org/r",
            }
        ],
    )
    await ingest(database, tmp_corpus)

    assert sorted(await rows(database, "SELECT url_key FROM article_related")) == sorted(
        [(url_key("https://other.example.org/r"),), (url_key("https://amp.other.example.org/r"),)]
    )


async def test_new_files_are_recorded_with_their_stat_from_the_parser(
    database, tmp_corpus, five_articles
) -> None:
    """A first ingest leaves new files' stat to the parsing workers: what they record is what a
    rescan sees, so nothing is parsed twice."""
    await ingest(database, tmp_corpus)

    recorded = dict(await rows(database, "SELECT path, mtime_ns FROM source_files"))
    assert recorded == {str(path): path.stat().st_mtime_ns for path in five_articles}


def test_a_new_file_gone_before_it_is_parsed_is_rejected(tmp_corpus) -> None:
    (outcome,) = parse_corpus_files([CorpusFile(str(tmp_corpus / "vanished.md"))])

    assert outcome.record is None
    assert outcome.error == "cannot read the file: No such file or directory"


@pytest.mark.slow
def test_parsing_workers_run_at_lower_priority_and_collect_garbage_less_often() -> None:
    executor = _parsing_executor(2)
    try:
        threshold = executor.submit(gc.get_threshold).result()
        niceness = executor.submit(os.nice, 0).result()
    finally:
        executor.shutdown()

    assert threshold[0] == BULK_GC_THRESHOLD != gc.get_threshold()[0]
    assert niceness == min(os.nice(0) + WORKER_NICENESS, 19)


async def test_saving_collects_garbage_less_often_and_puts_the_threshold_back(
    database, tmp_corpus, write_article
) -> None:
    write_article(tmp_corpus, "one")
    before = gc.get_threshold()
    during: list[int] = []

    await ingest(database, tmp_corpus, progress=lambda *_: during.append(gc.get_threshold()[0]))

    assert during == [BULK_GC_THRESHOLD] != [before[0]]
    assert gc.get_threshold() == before


def test_outcome_records_the_stat_of_the_content_parsed(tmp_corpus, write_article) -> None:
    """A file rewritten between the scan and its parsing is recorded as it was read, so the
    next rescan compares against the content that was indexed."""
    path = write_article(tmp_corpus, "moving", title="Second version")
    scanned = CorpusFile(str(path), mtime_ns=1, size=2)  # what an earlier stat said

    (outcome,) = parse_corpus_files([scanned])

    assert outcome.record is not None and outcome.record.title == "Second version"
    assert (outcome.mtime_ns, outcome.size) == (path.stat().st_mtime_ns, path.stat().st_size)


# --------------------------------------------------------------------------- files not to read


async def test_a_fifo_named_md_never_blocks_and_is_reported_but_not_read_again(
    database, tmp_corpus, write_article
) -> None:
    write_article(tmp_corpus, "good")
    pipe = tmp_corpus / "pipe.md"
    os.mkfifo(pipe)
    reason = "not a regular file but a named pipe (FIFO): skipped"

    async with asyncio.timeout(10):
        first = await ingest(database, tmp_corpus)
        second = await ingest(database, tmp_corpus)

    assert (first.rejected, counts(first)) == ([Rejection(str(pipe), reason)], (1, 0, 0, 1))
    assert (second.rejected, counts(second)) == ([Rejection(str(pipe), reason)], (0, 1, 0, 1))
    assert [r.reported_before for r in first.rejected + second.rejected] == [False, True]
    recorded = await rows(
        database, "SELECT mtime_ns, size, error FROM source_files WHERE path = ?", str(pipe)
    )
    assert recorded == [(pipe.stat().st_ctime_ns, 0, reason)]

    pipe.unlink()
    write_article(tmp_corpus, "pipe")  # a real article in its place
    third = await ingest(database, tmp_corpus)
    assert (third.rejected, counts(third)) == ([], (1, 1, 0, 0))
    assert await active_of(database, url_of("pipe")) == 1


async def test_a_broken_link_is_reported_at_every_run_and_recorded_once(
    database, tmp_corpus
) -> None:
    (tmp_corpus / "gone.md").symlink_to(tmp_corpus / "nothing.md")

    first = await ingest(database, tmp_corpus)
    second = await ingest(database, tmp_corpus)

    assert (
        first.rejected
        == second.rejected
        == [Rejection(str(tmp_corpus / "gone.md"), "broken symlink")]
    )
    assert [r.reported_before for r in first.rejected + second.rejected] == [False, True]


def test_a_file_that_turns_special_after_the_scan_never_blocks_the_worker(tmp_corpus) -> None:
    """The worker opens without waiting and checks what it opened before reading: a FIFO, a
    socket or a folder put where the scan saw a file is reported with its stat."""
    os.mkfifo(tmp_corpus / "pipe.md")
    (tmp_corpus / "folder.md").mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(tmp_corpus / "sock.md"))
        files = [CorpusFile(str(tmp_corpus / name)) for name in ("pipe.md", "folder.md", "sock.md")]

        outcomes = parse_corpus_files(files)

        assert [(o.record, o.error) for o in outcomes] == [
            (None, "not a regular file but a named pipe (FIFO): skipped"),
            (None, "not a regular file but a folder: skipped"),
            (None, "not a regular file but a socket: skipped"),
        ]
        assert [(o.mtime_ns, o.size) for o in outcomes] == [
            (os.stat(file.path).st_ctime_ns, os.stat(file.path).st_size) for file in files
        ]


NOBODY = 65534


def _as_nobody() -> None:
    """In a worker process started as root: import what the ingest needs (the interpreter's
    own files may be out of nobody's reach), then become nobody, whom file modes do bind."""
    import aiosqlite  # noqa: F401

    import ainews.store.database  # noqa: F401

    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _ingest_a_locked_file_then_unlock_it(corpus: str, database_path: str) -> list[Any]:
    """Three ingests: the file unreadable, unreadable again, then readable (``chmod``)."""

    async def run() -> list[Any]:
        locked = Path(corpus) / "locked.md"
        async with await Database.open(database_path) as database:
            articles = ArticleRepository(database)
            seen: list[Any] = []
            for step in range(3):
                if step == 2:
                    stat_before = locked.stat().st_ctime_ns
                    while locked.stat().st_ctime_ns == stat_before:  # the kernel's clock ticks
                        os.chmod(locked, 0o644)
                        await asyncio.sleep(0.005)
                report = await ingest_corpus(articles, corpus)
                known = await articles.known_files(corpus)
                seen.append(
                    (
                        counts(report),
                        [(r.reason, r.reported_before) for r in report.rejected],
                        known[str(locked)][1:3]
                        == (locked.stat().st_ctime_ns, locked.stat().st_size),
                    )
                )
            return seen

    return asyncio.run(run())


@pytest.mark.slow
def test_an_unreadable_file_is_reported_and_read_again_only_once_it_changes(
    write_article,
) -> None:
    """A file without read permission: rejected, recorded with its stat (not tried again at every
    run), and indexed once a ``chmod`` makes it readable. Root reads any file, so as root the
    ingest runs in a process that has become nobody."""
    with tempfile.TemporaryDirectory() as workdir:
        corpus = Path(workdir) / "corpus"
        locked = write_article(corpus, "locked")
        write_article(corpus, "open")
        locked.chmod(0)
        if os.geteuid() == 0:
            for path in (Path(workdir), corpus, *corpus.iterdir()):
                os.chown(path, NOBODY, NOBODY)
            Path(workdir).chmod(0o755)
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(1, mp_context=context, initializer=_as_nobody) as nobody:
                seen = nobody.submit(
                    _ingest_a_locked_file_then_unlock_it, str(corpus), f"{workdir}/db.sqlite3"
                ).result(timeout=60)
        else:
            seen = _ingest_a_locked_file_then_unlock_it(str(corpus), f"{workdir}/db.sqlite3")

    denied = "cannot read the file: Permission denied"
    assert seen == [
        ((1, 0, 0, 1), [(denied, False)], True),  # recorded with its change time
        ((0, 1, 0, 1), [(denied, True)], True),  # not tried again: reported as recorded
        ((1, 1, 0, 0), [], False),  # read after the chmod, recorded with its mtime
    ]
