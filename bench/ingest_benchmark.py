"""Ingest benchmark: naive baseline vs cold ingest, warm rescan and 100 changed files.

    python bench/ingest_benchmark.py [--count 100000] [--workdir bench/out] [--repeat 3]
    python bench/ingest_benchmark.py --database-url postgresql://127.0.0.1:5432/test [...]

Generates (once, deterministically) a corpus of ``--count`` articles with
``bench/generate_corpus.py``, then runs each phase ``--repeat`` times, each run in its own
process (so that peak RSS is the run's own), and prints one table of the best (shortest) run of
each phase, with every run's time beside it (peak RSS: the largest of all its runs). The machine
the results were measured on (bench/RESULTS.md) is shared and its speed moves from hour to hour:
naive and cold runs alternate, so a busy spell slows both, and the best of a few runs is the
closest to what the code itself costs. Record each run in bench/RESULTS.md with its date, the
machine, the command and the commit.

- naive:    a plain loop of ``frontmatter.load`` over every file plus one ``executemany`` of
            the rows into SQLite (no validation, no full-text index, one core);
- cold:     ``ingest_corpus`` into an empty database (validation, FTS5, topics, stories);
- warm:     ``ingest_corpus`` again with nothing changed;
- changed:  ``ingest_corpus`` after 100 files were rewritten.

Peak RSS is the phase process's own maximum RSS plus the largest worker process's (parsing runs
in one worker per core; with two cores the true total can be up to one more worker's worth). On
Linux each is the process's ``VmHWM``, sampled while the workers run: ``ru_maxrss`` would not do,
since Linux carries a parent's peak over ``fork`` and ``exec`` into the child's, so each phase
would report at least this script's peak (the corpus generator's) and each worker its parent's.
CPU s is the user + system time of the phase process and its workers, from process start (Python
start-up and imports included): a steadier figure than wall time on a shared machine.

With ``--database-url URL`` (a PostgreSQL server's database), the cold, warm and changed phases
run on SQLite and on PostgreSQL in the same run, and the table shows them side by side (an engine
column); the naive baseline stays SQLite's (it is the baseline). Each PostgreSQL cold run starts
from a new, empty schema (``bench_<random>``, made with asyncpg on that database and used through
``URL?search_path=...``); warm and changed rescan the last cold run's schema, as SQLite's rescan
the last cold run's file, and every schema is dropped (``DROP SCHEMA ... CASCADE``) at the end.
Naive, SQLite cold and PostgreSQL cold runs alternate; warm runs alternate between the engines;
changed runs go SQLite's first, then PostgreSQL's (each rewrites the same 100 files from what
they hold, so each engine's store must have seen the files' last version). Targets on
PostgreSQL: cold ingest at most 1.5x SQLite's (best runs), warm and changed as on SQLite.
Peak RSS on PostgreSQL is this side's only (the phase process and its largest worker): the
server's own memory is in its processes, not counted here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PHASES = ("naive", "cold", "warm", "changed")
TARGETS = {
    "cold": "<= naive / 3",
    "warm": "<= 1.0 s",
    "changed": "<= 1.0 s",
}
#: PostgreSQL's cold ingest at most this many times SQLite's.
POSTGRES_COLD_VS_SQLITE = 1.5
POSTGRES_TARGETS = TARGETS | {"cold": f"<= {POSTGRES_COLD_VS_SQLITE}x sqlite"}


def run_phase(
    phase: str, corpus: Path, workdir: Path, store_url: str | None = None
) -> dict[str, float]:
    """Run one phase in this process and return its wall time, CPU time and peak RSS (on
    ``store_url``'s PostgreSQL schema when given, else on SQLite)."""
    workers = WorkerPeaks()
    if phase != "naive":  # naive starts no workers: nothing to sample, nothing to slow down
        workers.start()
    try:
        seconds = _timed_phase(phase, corpus, workdir, store_url)
    finally:
        workers.stop()
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    main_mb = peak_rss_mb("self")
    worker_mb = workers.peak_mb
    if main_mb is None or worker_mb is None:  # no /proc: ru_maxrss, which may overstate
        main_mb, worker_mb = own.ru_maxrss / 1024, children.ru_maxrss / 1024
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_mb": main_mb + worker_mb,
        "main_mb": main_mb,
        "worker_mb": worker_mb,
        "ru_maxrss_mb": (own.ru_maxrss + children.ru_maxrss) / 1024,
    }


def peak_rss_mb(pid: int | str) -> float | None:
    """A process's peak resident set (``VmHWM``), or None without Linux's /proc."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class WorkerPeaks(threading.Thread):
    """Samples the peak RSS of this process's children (the parsing workers) until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[int, float] = {}
        self.readable = False  # whether /proc lists children here (Linux)
        self._stop_sampling = threading.Event()

    def run(self) -> None:
        while not self._stop_sampling.wait(0.05):
            self.sample()

    def sample(self) -> None:
        try:
            tasks = os.listdir("/proc/self/task")
        except OSError:
            return
        for task in tasks:
            try:
                with open(f"/proc/self/task/{task}/children", encoding="ascii") as children:
                    pids = [int(pid) for pid in children.read().split()]
            except OSError:
                continue
            self.readable = True
            for pid in pids:
                peak = peak_rss_mb(pid)
                if peak is not None:
                    self.peaks[pid] = max(peak, self.peaks.get(pid, 0.0))

    def stop(self) -> None:
        self._stop_sampling.set()
        if self.is_alive():
            self.join()
        self.sample()  # also tells whether /proc can list children at all

    @property
    def peak_mb(self) -> float | None:
        return max(self.peaks.values(), default=0.0) if self.readable else None


def _timed_phase(phase: str, corpus: Path, workdir: Path, store_url: str | None) -> float:
    if phase == "naive":
        started = time.perf_counter()
        naive_ingest(corpus, workdir / "naive.sqlite3")
        seconds = time.perf_counter() - started
    else:
        from generate_corpus import rewrite_articles

        from ainews.ingest import ingest_corpus
        from ainews.store.articles import ArticleRepository
        from ainews.store.database import Database

        if phase == "changed":
            files = sorted(corpus.rglob("*.md"))
            rewrite_articles(files[:: max(1, len(files) // 100)][:100], seed=7)
            del files  # 100,000 paths the timed ingest should not carry (nor collect)
            gc.collect()

        async def ingest() -> float:
            database = await Database.open(store_url or workdir / "ingest.sqlite3")
            try:
                started = time.perf_counter()
                report = await ingest_corpus(ArticleRepository(database), corpus)
                elapsed = time.perf_counter() - started
            finally:
                await database.close()
            print(
                json.dumps(report.as_json() | {"rejected": len(report.rejected)}), file=sys.stderr
            )
            return elapsed

        seconds = asyncio.run(ingest())
    return seconds


def naive_ingest(corpus: Path, database: Path) -> None:
    import frontmatter

    rows = []
    for path in sorted(corpus.rglob("*.md")):
        meta = frontmatter.load(path).metadata
        rows.append(
            (
                str(path),
                meta.get("title"),
                meta.get("excerpt"),
                str(meta.get("publishedDateTime")),
                meta.get("webUrl"),
                json.dumps(meta, default=str),
            )
        )
    connection = sqlite3.connect(database)
    connection.execute(
        "CREATE TABLE articles (path TEXT PRIMARY KEY, title, excerpt, published, url, data)"
    )
    with connection:
        connection.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?)", rows)
    connection.close()


def cpu_check_ms() -> float:
    """A fixed pure-Python loop, best of three: how fast this machine is just now. On a shared
    machine the speed moves from hour to hour, and the ratio of two phases run minutes apart
    with it."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(3_000_000):
            total += number
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each phase (naive and cold interleaved)"
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="also run cold, warm and changed on this PostgreSQL database (each run in a new"
        " schema, dropped afterwards), beside SQLite",
    )
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    # A phase process's PostgreSQL store: the URL with its schema's search path.
    parser.add_argument("--store-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    corpus = args.workdir / f"corpus-{args.count}"
    if args.phase:
        print(json.dumps(run_phase(args.phase, corpus, args.workdir, args.store_url)))
        return 0

    from generate_corpus import generate_corpus

    args.workdir.mkdir(parents=True, exist_ok=True)
    if corpus.exists():
        subprocess.run(["rm", "-rf", str(corpus)], check=True)
    started = time.perf_counter()
    generate_corpus(corpus, args.count, seed=42)
    print(f"generated {args.count} files in {time.perf_counter() - started:.1f} s")

    if args.database_url:
        return compare_engines(args)
    speed_before = cpu_check_ms()
    runs: dict[str, list[dict[str, float]]] = {phase: [] for phase in PHASES}
    # Naive and cold alternate, so a spell of a busy machine slows both alike; each cold run
    # starts from an empty database, and warm and changed then rescan the last one's.
    repeat = args.repeat
    for phase in [*(["naive", "cold"] * repeat), *(["warm"] * repeat), *(["changed"] * repeat)]:
        runs[phase].append(run_in_own_process(phase, args))

    best = {phase: min(runs[phase], key=lambda run: run["seconds"]) for phase in PHASES}
    naive = best["naive"]["seconds"]
    print(
        f"\n{args.count:,} articles; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; best of {args.repeat} runs a phase"
    )
    print(
        f"{'phase':<8} {'wall s':>8} {'vs naive':>9} {'CPU s':>7} {'peak RSS MB':>12}  "
        f"{'target':<13} every run (wall s)"
    )
    for phase in PHASES:
        r = best[phase]
        speed = f"{naive / r['seconds']:.1f}x" if phase != "naive" else "1.0x"
        peak = max(run["rss_mb"] for run in runs[phase])
        every = " ".join(f"{run['seconds']:.2f}" for run in runs[phase])
        print(
            f"{phase:<8} {r['seconds']:>8.2f} {speed:>9} {r['cpu_seconds']:>7.1f} "
            f"{peak:>12.0f}  {TARGETS.get(phase, ''):<13} {every}"
        )
    print("peak RSS target: <= 300 MB (main process + largest parsing worker)")
    print(
        f"CPU check (a fixed Python loop, best of 3): {speed_before:.0f} ms before the phases, "
        f"{cpu_check_ms():.0f} ms after"
    )
    return 0


def compare_engines(args: argparse.Namespace) -> int:
    """Every phase on SQLite, and cold, warm and changed on PostgreSQL too: one table."""
    speed_before = cpu_check_ms()
    server = PostgresSchemas(args.database_url)
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    repeat = args.repeat
    order = [
        *([("sqlite", "naive"), ("sqlite", "cold"), ("postgresql", "cold")] * repeat),
        *([("sqlite", "warm"), ("postgresql", "warm")] * repeat),
        *([("sqlite", "changed")] * repeat),
        *([("postgresql", "changed")] * repeat),
    ]
    try:
        for engine, phase in order:
            store_url = None
            if engine == "postgresql":
                if phase == "cold":  # from an empty schema; the last one's is rescanned after
                    server.drop_all()
                    store_url = server.create()
                else:
                    store_url = server.current
            runs.setdefault((engine, phase), []).append(
                run_in_own_process(phase, args, store_url, label=f"{engine} {phase}")
            )
    finally:
        server.drop_all()

    best = {key: min(found, key=lambda run: run["seconds"]) for key, found in runs.items()}
    naive = best["sqlite", "naive"]["seconds"]
    print(
        f"\n{args.count:,} articles; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {server.version} (same machine); "
        f"best of {args.repeat} runs a phase"
    )
    print(
        f"{'engine':<10} {'phase':<8} {'wall s':>8} {'vs naive':>9} {'CPU s':>7} "
        f"{'peak RSS MB':>12}  {'target':<17} every run (wall s)"
    )
    for phase in PHASES:
        for engine in ("sqlite", "postgresql"):
            if (engine, phase) not in runs:
                continue
            r = best[engine, phase]
            speed = f"{naive / r['seconds']:.1f}x" if phase != "naive" else "1.0x"
            peak = max(run["rss_mb"] for run in runs[engine, phase])
            every = " ".join(f"{run['seconds']:.2f}" for run in runs[engine, phase])
            target = (TARGETS if engine == "sqlite" else POSTGRES_TARGETS).get(phase, "")
            print(
                f"{engine:<10} {phase:<8} {r['seconds']:>8.2f} {speed:>9} "
                f"{r['cpu_seconds']:>7.1f} {peak:>12.0f}  {target:<17} {every}"
            )
    ratio = best["postgresql", "cold"]["seconds"] / best["sqlite", "cold"]["seconds"]
    verdict = "met" if ratio <= POSTGRES_COLD_VS_SQLITE else "MISSED"
    print(
        f"PostgreSQL cold ingest: {ratio:.2f}x SQLite's (target <= {POSTGRES_COLD_VS_SQLITE}x:"
        f" {verdict}); each SQLite cold run and the PostgreSQL one after it: "
        + ", ".join(
            f"{pg['seconds'] / lite['seconds']:.2f}x"
            for lite, pg in zip(runs["sqlite", "cold"], runs["postgresql", "cold"], strict=True)
        )
    )
    for phase in ("warm", "changed"):
        seconds = best["postgresql", phase]["seconds"]
        print(
            f"PostgreSQL {phase}: {seconds:.2f} s (target {TARGETS[phase]}: "
            f"{'met' if seconds <= 1.0 else 'MISSED'})"
        )
    print(
        "peak RSS target: <= 300 MB (main process + largest parsing worker; on PostgreSQL the"
        " server's memory is not counted)"
    )
    print(
        f"CPU check (a fixed Python loop, best of 3): {speed_before:.0f} ms before the phases, "
        f"{cpu_check_ms():.0f} ms after"
    )
    return 0


class PostgresSchemas:
    """Fresh, empty schemas on a PostgreSQL database, for one store each; dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[str] = []
        self.version = f"PostgreSQL {asyncio.run(self._run('SHOW server_version'))}"

    @property
    def current(self) -> str:
        """The URL of the last schema made (with its search path)."""
        if not self.made:
            raise RuntimeError("no PostgreSQL schema made yet")
        separator = "&" if "?" in self.url else "?"
        return f"{self.url}{separator}search_path={self.made[-1]}"

    def create(self) -> str:
        schema = f"bench_{secrets.token_hex(6)}"
        asyncio.run(self._run(f"CREATE SCHEMA {schema}"))
        self.made.append(schema)
        return self.current

    def drop_all(self) -> None:
        while self.made:
            asyncio.run(self._run(f"DROP SCHEMA {self.made[-1]} CASCADE"))
            self.made.pop()

    async def _run(self, sql: str) -> str | None:
        import asyncpg

        connection = await asyncpg.connect(self.url)
        try:
            value = await connection.fetchval(sql)
        finally:
            await connection.close()
        return None if value is None else str(value)


def run_in_own_process(
    phase: str, args: argparse.Namespace, store_url: str | None = None, label: str | None = None
) -> dict[str, float]:
    """One run of ``phase`` in a new process, after a ``sync`` (nothing left to write back from
    the run before: the naive phase leaves its whole database in the page cache); on
    ``store_url``'s PostgreSQL schema when given, else on SQLite."""
    if phase in ("naive", "cold") and store_url is None:
        for stale in args.workdir.glob(f"{'naive' if phase == 'naive' else 'ingest'}.sqlite3*"):
            stale.unlink()
    subprocess.run(["sync"], check=False)
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--count",
            str(args.count),
            "--workdir",
            str(args.workdir),
            "--phase",
            phase,
            *(["--store-url", store_url] if store_url else []),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    report = f" {out.stderr.strip().splitlines()[-1]}" if out.stderr.strip() else ""
    print(f"  {label or phase}: {result['seconds']:.2f} s{report}", flush=True)
    return result


if __name__ == "__main__":
    sys.exit(main())
