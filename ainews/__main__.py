"""The ``ainews`` command line: ``demo``, ``run``, ``ingest``, ``check``, ``backup`` and
``copy-db``.

Exit codes: 0 all good; 1 some article files were rejected (the good ones are indexed);
2 a usage error, a bad setting, an unreadable path, Discord refusing the token or unreachable at
start; 130 interrupted. ``ainews --help`` and each command's ``--help`` say the same, with the
settings each reads (:data:`HELP`).
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_loading(signum: int, frame: object) -> None:
    print("ainews: interrupted", file=sys.stderr)
    raise SystemExit(130)


# Ctrl-C while the modules below load (a tenth of a second) ends the command quietly too;
# main() hands Ctrl-C back to Python. Only when run as the command, not when imported.
if __name__ == "__main__" or os.path.basename(sys.argv[0]) == "ainews":
    signal.signal(signal.SIGINT, _interrupted_while_loading)

import argparse
import asyncio
import json
import logging
import sqlite3
import textwrap
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from ainews import __version__
from ainews.corpus.scan import CorpusPathError
from ainews.ingest import CorpusReport, ProgressCallback, check_corpus, ingest_corpus
from ainews.settings import DOTENV, Settings, SettingsError, log_level_number
from ainews.store.articles import ArticleRepository
from ainews.store.database import Database, StoreError

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
#: Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
EXIT_INTERRUPTED = 130
#: Show a progress bar only for runs with at least this many files to parse.
PROGRESS_MIN_FILES = 1_000


def main(argv: Sequence[str] | None = None) -> int:
    if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        # check and demo need no settings: a broken .env must not stop them.
        settings = Settings.load() if args.needs_settings else Settings()
        return int(args.handler(args, settings))
    except (SettingsError, StoreError, CorpusPathError) as error:
        print(f"ainews: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ainews: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


SETTINGS_WHERE = (
    "Settings come from the environment and from .env in the working folder (the environment "
    "wins; see .env.example); relative paths are relative to the working folder."
)
HELP = {
    "ainews": (
        "Curated AI news for Discord: a folder of Markdown articles served as slash commands and "
        "topic digests.",
        f"""Start with `ainews demo`; `ainews COMMAND --help` says what each command reads.

{SETTINGS_WHERE}

Exit codes:
  0    all good
  1    some article files were rejected, the rest indexed (ingest, check)
  2    a usage error, a bad or missing setting, an unreadable path, a token Discord refused,
       Discord unreachable at start, no database to back up or copy, or a copy's destination
       not empty
  130  interrupted (Ctrl-C)""",
    ),
    "demo": (
        "See the bot work in a few seconds: the real bot logs into a Discord-compatible sandbox "
        "on 127.0.0.1 and a member and an admin take a tour. No token, no network; nothing is "
        "written outside a temporary folder.",
        """Settings: none (.env is not read).

Exit codes:
  0    the tour ran
  130  interrupted (Ctrl-C)""",
    ),
    "run": (
        "Run the bot: index NEWS_DIR, register the slash commands (only when they changed), "
        "connect to Discord, pick up changed article files within about a second (NEWS_WATCH, "
        "on by default), rescan NEWS_DIR every NEWS_RESCAN_SECONDS and deliver digests. Stop it "
        "with Ctrl-C or SIGTERM: no new delivery starts, those under way get 10 s.",
        f"""Settings: DISCORD_TOKEN (required), NEWS_DIR (must exist; unset: the bundled sample
corpus, with a warning), DATABASE_URL (PostgreSQL) or else DATABASE_PATH (SQLite),
DATABASE_POOL_SIZE, COMMAND_GUILD_IDS, SHARD_COUNT and SHARD_IDS (the shards this process
holds), NEWS_RESCAN_SECONDS, NEWS_WATCH, LOG_LEVEL, DISCORD_API_BASE, DISCORD_GATEWAY_URL.
{SETTINGS_WHERE} Logs go to stderr, one line each.

Exit codes:
  0    stopped by SIGTERM or Ctrl-C
  2    a bad or missing setting (named), NEWS_DIR missing or unreadable, a token Discord
       refused, or Discord unreachable at start (the URL and the reason are named)""",
    ),
    "ingest": (
        "Index the article files under PATH (default: NEWS_DIR) into the database, "
        "incrementally: new and changed files are parsed, unchanged ones skipped, gone ones "
        "withdrawn. Each rejected file is named with a one-line reason, and each image or "
        "related item dropped from a kept article with a warning.",
        f"""Settings: DATABASE_URL (PostgreSQL) or else DATABASE_PATH (SQLite, created if
needed), NEWS_DIR (when PATH is not given). On PostgreSQL, one process ingests at a time: this
one waits while another does. {SETTINGS_WHERE}

Exit codes:
  0    all files indexed (warnings alone do not change this)
  1    some files rejected (the rest indexed)
  2    a usage error, a bad setting, or PATH (or NEWS_DIR) unreadable
  130  interrupted (Ctrl-C): what was saved stays, the rest is indexed by the next run""",
    ),
    "check": (
        "Validate article files as ingest would, writing nothing: each rejected file is named "
        "with a one-line reason, and each image or related item ingest would drop with a "
        "warning.",
        """Settings: none (.env is not read), so a curator can check files anywhere.

Exit codes:
  0    every file is valid (warnings alone do not change this)
  1    some files rejected
  2    a usage error or PATH unreadable
  130  interrupted (Ctrl-C)""",
    ),
    "backup": (
        "Copy the database to DEST, a new file: a consistent snapshot (SQLite's VACUUM INTO), "
        "safe while the bot runs. Run it as the user the bot runs as, from its working folder "
        "(for the service: sudo -u ainews sh -c 'cd /srv/ainews && venv/bin/ainews backup DEST').",
        f"""Settings: DATABASE_PATH (must hold the bot's data; it is never created here). With
DATABASE_URL set, it refuses: back PostgreSQL up with pg_dump. {SETTINGS_WHERE}

Exit codes:
  0    backed up (both files are named in full)
  2    DEST exists, or there is no bot database at DATABASE_PATH (the full path and the
       working folder are named), or a bad setting
  130  interrupted (Ctrl-C): no backup is left behind""",
    ),
    "copy-db": (
        "Copy the store at SOURCE to DEST, each a SQLite file or a postgresql:// URL (SQLite to "
        "PostgreSQL and back): the articles, the posting ledger, digests and their deliveries, "
        "story links and bot state, so a server that switches keeps its history and nothing is "
        "posted twice. DEST must be empty (a new SQLite file is created). SOURCE is read in one "
        "consistent snapshot, DEST written in one transaction, and the rows of every table are "
        "counted on both sides. Both are first upgraded to this release's schema.",
        """Run it while the bot is STOPPED: a copy taken while the bot runs misses what the bot
posts after the copy began, and the bot on DEST would post that a second time. Then point
DATABASE_URL (or DATABASE_PATH) at DEST and start the bot.

Settings: none (.env is not read). A password in a URL is never shown.

Exit codes:
  0    copied (the rows of each table are listed, both stores named)
  2    SOURCE is not a bot database (a SQLite SOURCE is never created), DEST is not empty,
       a server cannot be reached, or the counts differ: DEST is left as it was, and a
       SQLite DEST this run created is removed
  130  interrupted (Ctrl-C): DEST is left as it was""",
    ),
}


def _wrapped(text: str) -> str:
    """Paragraphs filled to 88 columns; those with indented lines (lists) kept as written."""
    return "\n\n".join(
        paragraph if "\n " in paragraph else textwrap.fill(" ".join(paragraph.split()), 88)
        for paragraph in text.split("\n\n")
    )


def _parser() -> argparse.ArgumentParser:
    description, epilog = HELP["ainews"]
    parser = argparse.ArgumentParser(
        prog="ainews",
        description=_wrapped(description),
        epilog=_wrapped(epilog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ainews {__version__}")
    parser.set_defaults(needs_settings=True)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        description, epilog = HELP[name]
        return commands.add_parser(
            name,
            help=summary,
            description=_wrapped(description),
            epilog=_wrapped(epilog),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    demo = command("demo", "see the bot work: a local Discord sandbox and a guided tour (no token)")
    demo.set_defaults(handler=_demo, needs_settings=False)

    run = command("run", "run the bot (needs DISCORD_TOKEN)")
    run.set_defaults(handler=_run)

    ingest = command("ingest", "index the corpus into the database (incremental)")
    ingest.add_argument("path", nargs="?", type=Path, help="corpus folder (default: NEWS_DIR)")
    ingest.add_argument("--json", action="store_true", help="print a machine-readable summary")
    ingest.set_defaults(handler=_ingest)

    check = command("check", "validate article files, writing nothing")
    check.add_argument("path", type=Path, help="corpus folder or one article file")
    check.add_argument("--json", action="store_true", help="print a machine-readable summary")
    check.set_defaults(handler=_check, needs_settings=False)

    backup = command("backup", "copy the database to DEST safely, even while the bot runs")
    backup.add_argument("dest", type=Path, help="the backup file to write (must not exist)")
    backup.set_defaults(handler=_backup)

    copy_db = command("copy-db", "copy the store to an empty one, SQLite or PostgreSQL")
    copy_db.add_argument(
        "source", metavar="SOURCE", help="the bot's store: a SQLite file or a postgresql:// URL"
    )
    copy_db.add_argument(
        "dest", metavar="DEST", help="an empty store: a new SQLite file or a postgresql:// URL"
    )
    copy_db.set_defaults(handler=_copy_db, needs_settings=False)
    return parser


# The bot and the demo import discord.py (a third of a second) only when they run: ingest's worker
# processes import this module again, and ingest and check need none of it.


def _run(args: argparse.Namespace, settings: Settings) -> int:
    import discord

    from ainews.app import run_bot
    from ainews.discord_endpoints import DiscordUnreachable
    from ainews.logging_setup import setup_logging

    token = settings.require_token()
    settings.require_news_dir()
    setup_logging(log_level_number(settings), token)
    logging.getLogger("ainews").info(
        "starting ai-news-bot %s: NEWS_DIR %s, %s, %s, settings from %s",
        __version__,
        settings.news_dir.absolute(),
        settings.database_description,
        f"shards {settings.shards.describe()}"
        if settings.shards
        else "shards as Discord recommends",
        _settings_source(),
    )
    _warn_if_dotenv_is_readable_by_others()
    if settings.uses_sample_corpus:
        logging.getLogger("ainews").warning(
            "NEWS_DIR is not set: serving the bundled sample corpus of fictional articles (%s); "
            "set NEWS_DIR to your corpus folder",
            settings.news_dir,
        )
    try:
        asyncio.run(run_bot(settings))
    except discord.LoginFailure:
        raise SettingsError(
            "DISCORD_TOKEN was refused by Discord: check the bot token in the Discord developer "
            "portal"
        ) from None
    except DiscordUnreachable as error:
        print(f"ainews: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _warn_if_dotenv_is_readable_by_others() -> None:
    """.env holds the token: readable by the group or others, it is one ``cat`` from leaking."""
    dotenv = Path(DOTENV)
    try:
        mode = dotenv.stat().st_mode & 0o777
    except OSError:
        return
    if mode & 0o044:
        logging.getLogger("ainews").warning(
            "%s is readable by other users (mode %04o) and may hold the bot token: chmod 600 %s",
            dotenv.absolute(),
            mode,
            dotenv.absolute(),
        )


def _settings_source() -> str:
    dotenv = Path(DOTENV).absolute()
    return f"the environment and {dotenv}" if dotenv.exists() else f"the environment (no {dotenv})"


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    def interrupted(signum: int, frame: object) -> None:
        # The tour is stopped where it is: the bot and the sandbox, torn down mid-request,
        # would log errors about it that mean nothing to whoever pressed Ctrl-C.
        logging.disable(logging.CRITICAL)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        from ainews.demo import run_demo

        return run_demo()
    finally:
        signal.signal(signal.SIGINT, previous)


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url:
        raise SettingsError(
            f"ainews backup copies a SQLite file, and the store is {settings.database_description}"
            ": back it up with PostgreSQL's pg_dump (pg_dump --format=custom "
            "--file=ainews.dump DBNAME; restore with pg_restore), or copy it to a SQLite file "
            'with ainews copy-db "$DATABASE_URL" ainews-copy.sqlite3'
        )
    source = settings.database_path.absolute()
    dest = args.dest.absolute()
    if dest.exists():
        raise SettingsError(f"{dest} already exists: choose a new file for the backup")
    _require_bot_database(settings.database_path)

    async def run() -> None:
        async with await Database.open(source) as database:
            await database.backup_to(dest)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        dest.unlink(missing_ok=True)
        print(f"ainews: interrupted: no backup written to {dest}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"backed up {source} to {dest}")
    return EXIT_OK


def _require_bot_database(
    path: Path,
    *,
    named_by: str = "DATABASE_PATH",
    hint: str = (
        "run ainews from the folder holding .env (for the service: its WorkingDirectory, "
        "/srv/ainews), or set DATABASE_PATH to the bot's database"
    ),
) -> None:
    """``path`` (given as ``named_by``) is a database ``ainews`` has written to (backing up or
    copying anything else would copy nothing, and opening it would create it): read, never
    created or changed."""
    where = f"{path.absolute()} ({named_by}"
    if not path.is_absolute():
        where += f", relative to the working folder {Path.cwd()}"
    where += ")"
    if not path.is_file():
        raise SettingsError(f"no database at {where}: {hint}")
    try:
        reader = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            tables = reader.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
            (count,) = tables.fetchone()
        finally:
            reader.close()
    except sqlite3.Error as error:
        raise SettingsError(f"cannot read the database at {where}: {error}") from None
    if not count:
        raise SettingsError(f"the database at {where} is empty (no tables): {hint}")


def _copy_db(args: argparse.Namespace, settings: Settings) -> int:
    from ainews.store.copy import copy_store
    from ainews.store.database import is_database_url

    source: Path | str = args.source
    dest: Path | str = args.dest
    if not is_database_url(args.source):
        source = Path(args.source)
        _require_bot_database(
            source,
            named_by="SOURCE",
            hint="give the path of the bot's database (DATABASE_PATH in its .env), or its "
            "DATABASE_URL",
        )
        source = source.absolute()
    created: Path | None = None
    if not is_database_url(args.dest):
        dest = Path(args.dest).absolute()
        if dest == source or (dest.exists() and isinstance(source, Path) and dest.samefile(source)):
            raise SettingsError(f"SOURCE and DEST are the same file, {dest}: copy to another")
        _require_no_other_database(dest)
        created = None if dest.exists() else dest
    elif args.dest == args.source:
        raise SettingsError("SOURCE and DEST are the same database: copy to another")

    async def run() -> tuple[dict[str, int], str, str]:
        async with (
            await Database.open(source) as from_store,
            await Database.open(dest) as to_store,
        ):
            copied = await copy_store(from_store, to_store)
            return copied, from_store.description, to_store.description

    try:
        copied, source_name, dest_name = asyncio.run(run())
    except KeyboardInterrupt:
        _remove_database_file(created)
        print("ainews: interrupted: nothing was copied, DEST is as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        _remove_database_file(created)
        raise
    width = max(len(table) for table in copied)
    for table, rows in copied.items():
        print(f"{table:<{width}}  {rows:>9,}")
    print(f"copied {sum(copied.values()):,} rows from {source_name} to {dest_name}")
    return EXIT_OK


def _require_no_other_database(path: Path) -> None:
    """A copy's SQLite destination that already exists: opening it would add the bot's tables to
    another program's database."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        reader = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            (tables,) = reader.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()
            (version,) = reader.execute("PRAGMA user_version").fetchone()
        finally:
            reader.close()
    except sqlite3.Error as error:
        raise SettingsError(f"cannot read {path} (DEST) as a database: {error}") from None
    if tables and not version:
        raise SettingsError(
            f"{path} (DEST) is a database of another program: choose a new file to copy to"
        )


def _remove_database_file(path: Path | None) -> None:
    """Remove a SQLite database this run created, with its journal files."""
    if path is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    path = args.path
    if path is None:
        path = settings.require_news_dir()
        if settings.uses_sample_corpus:
            print(
                "ainews: NEWS_DIR is not set: indexing the bundled sample corpus of fictional "
                "articles; set NEWS_DIR to your corpus folder",
                file=sys.stderr,
            )

    so_far = CorpusReport(root=str(path))

    async def run(progress: ProgressCallback | None) -> CorpusReport:
        async with await Database.open(
            settings.database_location, pool_size=settings.database_pool_size
        ) as database:
            return await ingest_corpus(ArticleRepository(database), path, progress, report=so_far)

    try:
        report = _with_progress(run, "Ingesting")
    except KeyboardInterrupt:
        # Each group of files is saved in one transaction, finished before stopping: the
        # store holds exactly what is counted, and the next run picks up the rest.
        print(
            f"ainews: interrupted: {so_far.ingested} files indexed, the rest on the next run",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return _report(report, args.json, verb="ingested")


def _check(args: argparse.Namespace, settings: Settings) -> int:
    return _report(
        _with_progress(lambda progress: check_corpus(args.path, progress), "Checking"),
        args.json,
        verb="valid",
    )


def _with_progress(
    job: Callable[[ProgressCallback | None], Coroutine[Any, Any, CorpusReport]], label: str
) -> CorpusReport:
    """Run ``job``, with a progress bar on stderr when it is a terminal and the run is long."""
    bar: AbstractContextManager[Progress | None] = (
        Progress(
            f"[bold]{label}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        if sys.stderr.isatty()
        else nullcontext()
    )
    with bar as progress:
        task = progress.add_task(label, total=None, visible=False) if progress else None

        def advance(done: int, total: int) -> None:
            if progress is not None and task is not None and total >= PROGRESS_MIN_FILES:
                progress.update(task, completed=done, total=total, visible=True)

        return asyncio.run(job(advance if progress else None))


def _report(report: CorpusReport, as_json: bool, verb: str) -> int:
    if as_json:
        print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        for rejection in report.rejected:
            print(f"rejected {rejection.path}: {rejection.reason}")
        for warning in report.warnings:
            print(f"warning {warning.path}: {warning.message}")
        counts = [f"{report.ingested} {verb}"]
        if verb == "ingested":
            counts += [f"{report.unchanged} unchanged", f"{report.withdrawn} withdrawn"]
        counts.append(f"{len(report.rejected)} rejected")
        if report.warnings:
            count = len(report.warnings)
            counts.append(f"{count} warning{'s' if count != 1 else ''}")
        print(f"{report.root}: {', '.join(counts)} in {report.seconds:.2f} s")
    return EXIT_REJECTED if report.rejected else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
