"""Ingest: bring the store up to date with the corpus folder, incrementally.

Scan (``stat`` only) -> compare with the files the store knows -> parse the new and changed files
in worker processes -> save each batch in one transaction -> withdraw articles whose files are
gone -> regroup stories. Unchanged files are never read. A bad file is recorded with its reason
and never stops the run; its old article (if any) is withdrawn, since the file no longer holds it.
The event loop stays free throughout: scanning runs in a thread, parsing in processes, and SQLite
in aiosqlite's thread.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.corpus.article import ArticleError
from bot.corpus.files import read_article_file
from bot.corpus.scan import CorpusFile, CorpusScan, scan_corpus
from bot.store.articles import ArticleRecord, ArticleRepository, FileOutcome

#: Below this many files to parse, a thread is cheaper than starting worker processes.
PROCESS_POOL_THRESHOLD = 400
BATCH_SIZE = 500

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Rejection:
    path: str
    reason: str


@dataclass(slots=True)
class CorpusReport:
    """What an ingest (or a check) found: counts and every rejected file with its reason."""

    root: str
    ingested: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0

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
            "seconds": round(self.seconds, 3),
        }


def parse_corpus_files(files: Sequence[CorpusFile]) -> list[FileOutcome]:
    """Parse files into store records (runs in a worker process; must stay picklable)."""
    outcomes = []
    for file in files:
        try:
            record = ArticleRecord.from_article(read_article_file(file.path))
        except ArticleError as error:
            outcomes.append(FileOutcome(file.path, file.mtime_ns, file.size, error=str(error)))
        else:
            outcomes.append(FileOutcome(file.path, file.mtime_ns, file.size, record=record))
    return outcomes


async def parse_in_batches(
    files: Sequence[CorpusFile], progress: ProgressCallback | None = None
) -> AsyncIterator[list[FileOutcome]]:
    """Yield parsed batches as they finish, with at most two batches per worker in flight."""
    batches = [files[i : i + BATCH_SIZE] for i in range(0, len(files), BATCH_SIZE)]
    if not batches:
        return
    loop = asyncio.get_running_loop()
    done = 0
    workers = 1 if len(files) < PROCESS_POOL_THRESHOLD else (os.cpu_count() or 1)
    with _parsing_executor(workers) as executor:
        pending: set[asyncio.Future[list[FileOutcome]]] = set()
        queue = iter(batches)
        while True:
            while len(pending) < 2 * workers and (batch := next(queue, None)) is not None:
                pending.add(loop.run_in_executor(executor, parse_corpus_files, batch))
            if not pending:
                break
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for future in finished:
                outcomes = future.result()
                done += len(outcomes)
                if progress is not None:
                    progress(done, len(files))
                yield outcomes


def _parsing_executor(workers: int) -> Executor:
    if workers == 1:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ainews-parse")
    # spawn, not fork: the parent runs threads (aiosqlite), which fork does not copy safely.
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


async def ingest_corpus(
    articles: ArticleRepository, root: Path | str, progress: ProgressCallback | None = None
) -> CorpusReport:
    """Bring the store up to date with the corpus at ``root``; raises ``CorpusPathError``."""
    started = time.perf_counter()
    scan = await asyncio.to_thread(scan_corpus, root)
    report = CorpusReport(root=scan.root)
    known = await articles.known_files(scan.root)
    to_parse = []
    for file in scan.files:
        seen = known.get(file.path)
        if seen is None or (seen.mtime_ns, seen.size) != (file.mtime_ns, file.size):
            to_parse.append(file)
        elif seen.error is not None:
            report.rejected.append(Rejection(file.path, seen.error))
        else:
            report.unchanged += 1
    unreadable = _unreadable_outcomes(scan)
    if unreadable:
        await articles.save_files(unreadable)
        report.rejected.extend(Rejection(o.path, o.error or "") for o in unreadable)
    async for outcomes in parse_in_batches(to_parse, progress):
        await articles.save_files(outcomes)
        for outcome in outcomes:
            if outcome.error is None:
                report.ingested += 1
            else:
                report.rejected.append(Rejection(outcome.path, outcome.error))
    present = {file.path for file in scan.files} | scan.unreadable.keys()
    report.withdrawn = await articles.forget_files(sorted(known.keys() - present))
    if to_parse or report.withdrawn or unreadable:
        await articles.regroup_stories()
    report.rejected.sort(key=lambda rejection: rejection.path)
    report.seconds = time.perf_counter() - started
    return report


async def check_corpus(root: Path | str, progress: ProgressCallback | None = None) -> CorpusReport:
    """Validate every file under ``root`` as ingest would, writing nothing."""
    started = time.perf_counter()
    scan = await asyncio.to_thread(scan_corpus, root)
    report = CorpusReport(root=scan.root)
    report.rejected.extend(Rejection(path, reason) for path, reason in scan.unreadable.items())
    async for outcomes in parse_in_batches(scan.files, progress):
        for outcome in outcomes:
            if outcome.error is None:
                report.ingested += 1
            else:
                report.rejected.append(Rejection(outcome.path, outcome.error))
    report.rejected.sort(key=lambda rejection: rejection.path)
    report.seconds = time.perf_counter() - started
    return report


def _unreadable_outcomes(scan: CorpusScan) -> list[FileOutcome]:
    return [FileOutcome(path, 0, 0, error=reason) for path, reason in scan.unreadable.items()]
