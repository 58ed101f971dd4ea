"""Ingest: bring the store up to date with the corpus folder, incrementally.

Read the files the store knows -> scan the folder, comparing each known file's ``stat`` with
them -> parse the new and changed files in worker processes (which also stat the new ones) ->
save them in groups of parsed batches, one transaction per group, while the workers parse the
next -> withdraw articles whose files are gone -> regroup the stories around what was saved.
Unchanged files are never read. A bad file is recorded with its reason and never stops
the run; its old article (if any) is withdrawn, since the file no longer holds it. A file that
cannot be read (not a regular file, not readable) is recorded with its stat too: later runs
report it again without reading it, until it changes (see :mod:`ainews.corpus.scan`). The event
loop stays free throughout: scanning runs in a thread, parsing in processes (at a lower priority
than the bot), and SQLite in aiosqlite's thread.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import aclosing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ainews.corpus.article import ArticleError
from ainews.corpus.files import UnreadableFile, parse_article_bytes, read_file_bounded
from ainews.corpus.scan import CorpusFile, CorpusScan, KnownFile, Unreadable, scan_corpus
from ainews.store.articles import ArticleRecord, ArticleRepository, FileOutcome

#: Below this many files to parse, a thread is cheaper than starting worker processes.
PROCESS_POOL_THRESHOLD = 400
BATCH_SIZE = 500
#: How much lower the parsing workers' CPU priority is than the process that starts them.
WORKER_NICENESS = 5
#: Allocations between young-generation garbage collections (Python: 700) in a parsing worker,
#: and in the process saving what the workers parse while it does: both make and drop a few
#: hundred objects a file, with no reference cycles, so collecting every 700 is wasted work
#: (what it cost: bench/RESULTS.md).
BULK_GC_THRESHOLD = 20_000
#: Files saved per transaction, at most. A commit writes every page the transaction touched, and
#: the store's keys (article ids, URL hashes) are random, so even a few thousand files touch most
#: index pages of a large store: a transaction of a fifth of the store keeps those rewrites to a
#: few times the indexes' size over a whole ingest. Memory bounds it: ~6 KB a file in the group
#: being saved, and as many again parsed meanwhile (see :func:`_batches_held`).
MAX_GROUP_FILES = 6_000

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Rejection:
    path: str
    reason: str
    #: An earlier run rejected the file as it is now, for this reason (the bot logs a rejection
    #: once, not at every rescan).
    reported_before: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class FileWarning:
    """Something dropped from a file's article (it was kept): the file and what, in one line."""

    path: str
    message: str


@dataclass(slots=True)
class CorpusReport:
    """What an ingest (or a check) found: counts, every rejected file with its reason, and the
    warnings of the files it parsed."""

    root: str
    ingested: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[FileWarning] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcomes: Sequence[FileOutcome]) -> None:
        """Add parsed files to the report."""
        for outcome in outcomes:
            if outcome.error is None:
                self.ingested += 1
            else:
                self.rejected.append(Rejection(outcome.path, outcome.error))
            self.warnings.extend(FileWarning(outcome.path, note) for note in outcome.warnings)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def as_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "ingested": self.ingested,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "rejected": [{"path": r.path, "reason": r.reason} for r in self.rejected],
            "rejected_count": len(self.rejected),
            "warnings": [{"path": w.path, "warning": w.message} for w in self.warnings],
            "warnings_count": len(self.warnings),
            "seconds": round(self.seconds, 3),
        }


def parse_corpus_files(
    files: Sequence[CorpusFile], *, search_vectors: bool = False
) -> list[FileOutcome]:
    """Parse files into store records (in a worker process: see :func:`_parse_to_send`), with
    their search vectors when the store asks for them (``ArticleRepository.search_vectors``).

    Each outcome records the file's ``stat`` as it was read, so what is recorded is the content
    parsed, even if the file changed since the scan (new files were not stat'ed by the scan). A
    file that cannot be read records its change time instead (see :mod:`ainews.corpus.scan`), or
    the scan's stat if it has none (it is gone).
    """
    outcomes = []
    for path, mtime_ns, size in files:
        try:
            data, info = read_file_bounded(path)
        except UnreadableFile as error:
            if error.info is not None:
                mtime_ns, size = error.info.st_ctime_ns, error.info.st_size
            outcomes.append(FileOutcome(path, mtime_ns, size, error=str(error)))
            continue
        warnings: list[str] = []
        try:
            record = ArticleRecord.from_article(
                parse_article_bytes(data, warnings), with_search_vector=search_vectors
            )
        except ArticleError as error:
            outcomes.append(FileOutcome(path, info.st_mtime_ns, info.st_size, error=str(error)))
        else:
            outcomes.append(
                FileOutcome(path, info.st_mtime_ns, info.st_size, record, None, tuple(warnings))
            )
    return outcomes


#: A :class:`FileOutcome` as a worker sends it back: its fields, and its record's, in plain
#: tuples. Pickle writes and reads plain tuples natively, but calls into Python to take a named
#: tuple apart and again to build it (what that cost: bench/RESULTS.md).
_SentOutcome = tuple[str, int, int, tuple[Any, ...] | None, str | None, tuple[str, ...]]


def _parse_to_send(files: Sequence[CorpusFile], search_vectors: bool) -> list[_SentOutcome]:
    """:func:`parse_corpus_files`, in the form workers send back (see :func:`_received`)."""
    return [
        (path, mtime_ns, size, None if record is None else tuple(record), error, warnings)
        for path, mtime_ns, size, record, error, warnings in parse_corpus_files(
            files, search_vectors=search_vectors
        )
    ]


def _received(sent: list[_SentOutcome]) -> list[FileOutcome]:
    """The outcomes :func:`_parse_to_send` sent, as named tuples again."""
    make_record = ArticleRecord._make
    return [
        FileOutcome(
            path, mtime_ns, size, None if record is None else make_record(record), error, warnings
        )
        for path, mtime_ns, size, record, error, warnings in sent
    ]


async def parse_in_batches(
    files: Sequence[CorpusFile], progress: ProgressCallback | None = None
) -> AsyncIterator[list[FileOutcome]]:
    """Yield parsed batches as they finish; the workers keep parsing (a bounded number of
    batches ahead) while the caller handles one."""
    async with aclosing(
        _parse(files, progress, lambda parsed: 1, BATCH_SIZE, search_vectors=False)
    ) as batches:
        async for outcomes in batches:
            yield outcomes


async def _parse(
    files: Sequence[CorpusFile],
    progress: ProgressCallback | None,
    min_group: Callable[[int], int],
    max_group: int,
    *,
    search_vectors: bool,
) -> AsyncGenerator[list[FileOutcome], None]:
    """Parse ``files`` in batches (their records with search vectors, or not) and yield the
    outcomes in groups of finished batches.

    A group takes every finished batch while it has fewer than ``max_group`` files, and waits for
    more while it has fewer than ``min_group(files yielded so far)`` (the last may have fewer).
    Batches go to the workers as soon as one is free, not when the caller asks for more, so
    parsing goes on while the caller saves a group; memory stays bounded because no more than
    :func:`_batches_held` batches are in flight or finished and not yet taken.
    """
    batches = deque(files[i : i + BATCH_SIZE] for i in range(0, len(files), BATCH_SIZE))
    if not batches:
        return
    loop = asyncio.get_running_loop()
    workers = 1 if len(files) < PROCESS_POOL_THRESHOLD else (os.cpu_count() or 1)
    held_limit = _batches_held(workers, max_group)
    yielded = 0
    finished: deque[asyncio.Future[list[_SentOutcome]]] = deque()
    arrived = asyncio.Event()
    in_flight = 0
    stopping = False
    done = 0

    def submit() -> None:
        nonlocal in_flight
        while batches and not stopping and in_flight + len(finished) < held_limit:
            future = loop.run_in_executor(
                executor, _parse_to_send, batches.popleft(), search_vectors
            )
            future.add_done_callback(on_finished)
            in_flight += 1

    def on_finished(future: asyncio.Future[list[_SentOutcome]]) -> None:
        nonlocal in_flight
        in_flight -= 1
        finished.append(future)
        arrived.set()
        submit()

    executor = _parsing_executor(workers)
    try:
        submit()
        while in_flight or finished:
            group: list[FileOutcome] = []
            while True:
                while finished and len(group) < max_group:
                    outcomes = _received(finished.popleft().result())
                    group += outcomes
                    done += len(outcomes)
                    if progress is not None:
                        progress(done, len(files))
                if len(group) >= min_group(yielded) or not (in_flight or finished):
                    break
                submit()  # for the batches just taken
                arrived.clear()
                await arrived.wait()
            submit()
            yielded += len(group)
            yield group
    finally:
        stopping = True
        # Waiting for the workers to exit would block the event loop: a thread does it.
        await asyncio.to_thread(executor.shutdown, cancel_futures=True)


def _batches_held(workers: int, max_group: int) -> int:
    """Batches in flight or finished but not yet taken: two per worker, plus a group's worth
    (the workers go on parsing the next group while the caller saves one)."""
    return 2 * workers + -(-max_group // BATCH_SIZE)


def _parsing_executor(workers: int) -> Executor:
    if workers == 1:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ainews-parse")
    # spawn, not fork: the parent runs threads (aiosqlite), which fork does not copy safely.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_prepare_worker,
    )


def _prepare_worker() -> None:
    """In each worker: yield the CPU to the main process, which saves what they parse (and, in
    the bot, answers Discord), so the workers use the cores it leaves free; collect garbage
    less often, for the whole of the worker's life (see :data:`BULK_GC_THRESHOLD`); and leave
    Ctrl-C (which a terminal sends to every process of the command) to the main process, which
    stops them: an interrupted worker would print its traceback and break the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)
    gc.set_threshold(BULK_GC_THRESHOLD, *gc.get_threshold()[1:])


@contextmanager
def _collecting_garbage_less_often() -> Iterator[None]:
    """Raise this process's young-generation threshold to :data:`BULK_GC_THRESHOLD` while the
    block runs (a bulk save), and put back what it was."""
    threshold = gc.get_threshold()
    gc.set_threshold(BULK_GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


class IngestBusy(RuntimeError):
    """Another process sharing the store is ingesting now (PostgreSQL): this one serves what is
    indexed, and the next rescan tries again."""


async def ingest_corpus(
    articles: ArticleRepository,
    root: Path | str,
    progress: ProgressCallback | None = None,
    *,
    report: CorpusReport | None = None,
    wait: bool = True,
) -> CorpusReport:
    """Bring the store up to date with the corpus at ``root``; raises ``CorpusPathError``.

    One process ingests (and regroups stories) at a time: several processes sharing a
    PostgreSQL store take turns through an advisory lock, which the server frees if the process
    holding it dies. With ``wait`` False, a process that finds another ingesting raises
    :class:`IngestBusy` instead of waiting its turn (the bot's rescans; ``ainews ingest`` waits).

    ``report``, when given, is filled in as the ingest goes: a caller whose ingest is cancelled
    (Ctrl-C) reads there what was saved. A cancelled ingest first finishes saving the group of
    files under way (one transaction, so the count is exact); what is left is saved by the next
    run, and its stories regrouped then."""
    async with articles.database.exclusive("ingest", wait=wait) as ours:
        if not ours:
            raise IngestBusy("another process is indexing the corpus into this store")
        return await _ingest(articles, root, progress, report)


async def _ingest(
    articles: ArticleRepository,
    root: Path | str,
    progress: ProgressCallback | None,
    report: CorpusReport | None,
) -> CorpusReport:
    started = time.perf_counter()
    known = await articles.known_files(os.path.abspath(root))  # noqa: ASYNC240 (no I/O)
    # Only known files need a stat to tell whether they changed; new ones are stat'ed by the
    # workers that parse them (a first ingest's scan then takes a fifth of the time).
    scan = await asyncio.to_thread(scan_corpus, root, known)
    if report is None:
        report = CorpusReport(root=scan.root)
    report.root = scan.root
    for path in scan.unchanged:
        error = known[path][3]
        if error is None:
            report.unchanged += 1
        else:
            report.rejected.append(Rejection(path, error, reported_before=True))
    to_parse = scan.files
    # Known files the scan found again: if that is all of them, none is gone.
    still_there = len(scan.unchanged) + sum(file.path in known for file in to_parse)
    to_parse.sort()  # by path (paths are unique, so the other fields never decide)
    unreadable = _unreadable_outcomes(scan, known)
    if unreadable:
        await articles.save_files(unreadable)
        report.rejected.extend(Rejection(o.path, o.error or "") for o in unreadable)
    report.rejected.extend(
        Rejection(path, problem.reason, reported_before=True)
        for path, problem in scan.unreadable.items()
        if _recorded(known, path, problem)
    )

    def min_group(saved: int) -> int:  # a fifth of the store, as it grows
        return min(MAX_GROUP_FILES, max(BATCH_SIZE, (len(known) + saved) // 5))

    with _collecting_garbage_less_often():
        async with aclosing(
            _parse(
                to_parse,
                progress,
                min_group,
                MAX_GROUP_FILES,
                search_vectors=articles.search_vectors,
            )
        ) as groups:
            async for outcomes in groups:
                saving = asyncio.ensure_future(articles.save_files(outcomes))
                try:
                    await asyncio.shield(saving)
                except asyncio.CancelledError:
                    await saving  # saved or not as a whole: finish it, so the count is right
                    report.count(outcomes)
                    raise
                report.count(outcomes)
    gone: list[str] = []
    if still_there < len(known):  # else every known file is still there: no need to look
        present = {file.path for file in to_parse} | set(scan.unchanged) | scan.unreadable.keys()
        gone = sorted(known.keys() - present)
    report.withdrawn = await articles.forget_files(gone)
    await articles.regroup_stories()  # around what was saved, now or by a run cut short
    report.rejected.sort(key=lambda rejection: rejection.path)
    report.warnings.sort(key=lambda warning: warning.path)
    report.seconds = time.perf_counter() - started
    return report


async def check_corpus(root: Path | str, progress: ProgressCallback | None = None) -> CorpusReport:
    """Validate every file under ``root`` as ingest would, writing nothing."""
    started = time.perf_counter()
    scan = await asyncio.to_thread(scan_corpus, root)
    report = CorpusReport(root=scan.root)
    report.rejected.extend(
        Rejection(path, problem.reason) for path, problem in scan.unreadable.items()
    )
    async for outcomes in parse_in_batches(sorted(scan.files), progress):
        report.count(outcomes)
    report.rejected.sort(key=lambda rejection: rejection.path)
    report.warnings.sort(key=lambda warning: warning.path)
    report.seconds = time.perf_counter() - started
    return report


def _unreadable_outcomes(scan: CorpusScan, known: dict[str, KnownFile]) -> list[FileOutcome]:
    """What to record of the files the scan found unreadable: those not recorded so already (a
    broken link is found again by every scan)."""
    return [
        FileOutcome(path, problem.ctime_ns, problem.size, error=problem.reason)
        for path, problem in scan.unreadable.items()
        if not _recorded(known, path, problem)
    ]


def _recorded(known: dict[str, KnownFile], path: str, problem: Unreadable) -> bool:
    return known.get(path) == (path, problem.ctime_ns, problem.size, problem.reason)
