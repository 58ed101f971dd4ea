"""The ``ainews`` command line: exit codes 0/1/2, ``--json`` output; check writes nothing."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ainews.__main__ import main
from ainews.store.database import latest_schema_version
from tests.helpers import CHECKOUT

REPORT_KEYS = {
    "root",
    "ingested",
    "unchanged",
    "withdrawn",
    "rejected",
    "rejected_count",
    "seconds",
    "warnings",
    "warnings_count",
}


@pytest.fixture
def database_path(clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "store" / "ainews.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


def active_titles(database_path: Path) -> set[str]:
    with sqlite3.connect(database_path) as db:
        titles = {row[0] for row in db.execute("SELECT title FROM articles WHERE active")}
    db.close()
    return titles


@pytest.fixture
def mixed_corpus(tmp_corpus: Path, write_article) -> Path:
    write_article(tmp_corpus, "good-1", title="First good article")
    write_article(tmp_corpus, "good-2", title="Second good article")
    write_article(tmp_corpus, "bad-url", webUrl="ftp://files.example.com/x")
    (tmp_corpus / "no-front-matter.md").write_text("# Just Markdown\n")
    return tmp_corpus


# --------------------------------------------------------------------------- ingest


def test_ingest_good_corpus_exits_0(capsys, database_path, tmp_corpus, write_article) -> None:
    write_article(tmp_corpus, "a")
    write_article(tmp_corpus, "b")

    code, out, err = run(capsys, "ingest", str(tmp_corpus))

    assert code == 0
    assert f"{tmp_corpus}: 2 ingested, 0 unchanged, 0 withdrawn, 0 rejected in " in out
    assert err == ""
    assert len(active_titles(database_path)) == 2


def test_ingest_json_shape(capsys, database_path, tmp_corpus, write_article) -> None:
    write_article(tmp_corpus, "a")

    code, first = run_json(capsys, "ingest", str(tmp_corpus))
    _, second = run_json(capsys, "ingest", str(tmp_corpus))

    assert code == 0
    assert set(first) == REPORT_KEYS
    assert first["root"] == str(tmp_corpus)
    assert (first["ingested"], first["unchanged"], first["withdrawn"]) == (1, 0, 0)
    assert (first["rejected"], first["rejected_count"]) == ([], 0)
    assert (first["warnings"], first["warnings_count"]) == ([], 0)
    assert isinstance(first["seconds"], int | float) and first["seconds"] >= 0
    assert (second["ingested"], second["unchanged"]) == (0, 1)


def test_ingest_with_rejected_files_exits_1_and_indexes_the_rest(
    capsys, database_path, mixed_corpus
) -> None:
    code, report = run_json(capsys, "ingest", str(mixed_corpus))

    assert code == 1
    assert report["ingested"] == 2
    assert report["rejected_count"] == 2
    assert report["rejected"] == [
        {
            "path": str(mixed_corpus / "bad-url.md"),
            "reason": "webUrl: not an absolute http(s) URL: 'ftp://files.example.com/x'",
        },
        {
            "path": str(mixed_corpus / "no-front-matter.md"),
            "reason": "no front matter: the file must start with a '---' line",
        },
    ]
    assert active_titles(database_path) == {"First good article", "Second good article"}


def test_ingest_text_output_names_each_rejected_file(capsys, database_path, mixed_corpus) -> None:
    code, out, _ = run(capsys, "ingest", str(mixed_corpus))

    assert code == 1
    assert f"rejected {mixed_corpus / 'bad-url.md'}: webUrl: not an absolute http(s) URL" in out
    assert f"rejected {mixed_corpus / 'no-front-matter.md'}: no front matter" in out
    assert "2 ingested, 0 unchanged, 0 withdrawn, 2 rejected" in out


def test_ingest_reports_withdrawn(capsys, database_path, tmp_corpus, write_article) -> None:
    write_article(tmp_corpus, "keep")
    gone = write_article(tmp_corpus, "gone")
    run(capsys, "ingest", str(tmp_corpus))
    gone.unlink()

    code, report = run_json(capsys, "ingest", str(tmp_corpus))

    assert code == 0
    assert (report["ingested"], report["unchanged"], report["withdrawn"]) == (0, 1, 1)


def test_ingest_without_path_uses_NEWS_DIR(
    capsys, database_path, monkeypatch, tmp_corpus, write_article
) -> None:
    write_article(tmp_corpus, "from-news-dir", title="Found through NEWS_DIR")
    monkeypatch.setenv("NEWS_DIR", str(tmp_corpus))

    code, report = run_json(capsys, "ingest")

    assert code == 0
    assert report["root"] == str(tmp_corpus)
    assert active_titles(database_path) == {"Found through NEWS_DIR"}


HOSTILE_FOLDER_SCRIPT = "import sys; from ainews.__main__ import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.slow
def test_folder_of_every_hostile_file_through_ingest_json(
    tmp_path, tmp_corpus, write_article, all_hostile_cases
) -> None:
    """Each bad file named with its reason, the good ones indexed. Run apart from pytest because
    some cases (absurd nesting) would kill the interpreter if their bound ever regressed."""
    write_article(tmp_corpus, "good-1", title="Good one")
    write_article(tmp_corpus, "nested/good-2", title="Good two")
    expected = {}
    for case in all_hostile_cases:
        path = tmp_corpus / "hostile" / f"{case.id}.md"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(case.data)
        expected[str(path)] = case.reason
    database = tmp_path / "hostile.sqlite3"
    env = {**os.environ, "DATABASE_PATH": str(database), "LOG_LEVEL": "INFO"}

    result = subprocess.run(
        [sys.executable, "-c", HOSTILE_FOLDER_SCRIPT, "ingest", str(tmp_corpus), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stderr[-2000:]
    report = json.loads(result.stdout)
    reasons = {item["path"]: item["reason"] for item in report["rejected"]}
    assert reasons.keys() == expected.keys()
    wrong = {
        path: reasons[path] for path, reason in expected.items() if reason not in reasons[path]
    }
    assert wrong == {}
    assert report["ingested"] == 2
    assert active_titles(database) == {"Good one", "Good two"}


# --------------------------------------------------------------------------- check


def test_check_writes_nothing(capsys, clean_env, tmp_path, monkeypatch, mixed_corpus) -> None:
    database = tmp_path / "never" / "ainews.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(database))
    before = sorted(p.name for p in mixed_corpus.iterdir())

    code, report = run_json(capsys, "check", str(mixed_corpus))

    assert code == 1
    assert report["ingested"] == 2
    assert [Path(r["path"]).name for r in report["rejected"]] == [
        "bad-url.md",
        "no-front-matter.md",
    ]
    assert not database.parent.exists()
    assert list(clean_env.iterdir()) == [], "nothing in the working directory (no ./data)"
    assert sorted(p.name for p in mixed_corpus.iterdir()) == before


def test_check_with_default_database_path_creates_nothing(
    capsys, clean_env, tmp_corpus, write_article
) -> None:
    write_article(tmp_corpus, "fine")

    code, out, _ = run(capsys, "check", str(tmp_corpus))

    assert code == 0
    assert f"{tmp_corpus}: 1 valid, 0 rejected in " in out
    assert not (clean_env / "data").exists()


def test_check_one_file(capsys, database_path, tmp_corpus, write_article) -> None:
    good = write_article(tmp_corpus, "good")
    bad = write_article(tmp_corpus, "bad", heat="very")

    assert run_json(capsys, "check", str(good))[0] == 0
    code, report = run_json(capsys, "check", str(bad))

    assert code == 1
    assert report["rejected"] == [
        {"path": str(bad), "reason": "heat: expected a whole number, got text"}
    ]


@pytest.mark.slow
def test_python_dash_m_bot_check(tmp_path: Path, tmp_corpus: Path, write_article) -> None:
    write_article(tmp_corpus, "good")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWS_", "DATABASE_"))
    }

    ok = subprocess.run(
        [sys.executable, "-m", "ainews", "check", str(tmp_corpus)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    write_article(tmp_corpus, "bad", title=None)
    rejected = subprocess.run(
        [sys.executable, "-m", "ainews", "check", str(tmp_corpus), "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip

    assert ok.returncode == 0, ok.stderr
    assert f"{tmp_corpus}: 1 valid, 0 rejected" in ok.stdout
    assert rejected.returncode == 1, rejected.stderr
    assert json.loads(rejected.stdout)["rejected"][0]["reason"] == "title: required"
    assert not (tmp_path / "data").exists()


# --------------------------------------------------------------------------- exit code 2


@pytest.mark.parametrize("command", ["ingest", "check"])
def test_unreadable_path_exits_2(capsys, database_path, tmp_path, command) -> None:
    missing = tmp_path / "no-such-folder"

    code, out, err = run(capsys, command, str(missing))

    assert code == 2
    assert out == ""
    assert err.startswith("ainews: cannot read")
    assert str(missing) in err


def test_bad_setting_exits_2_naming_it(capsys, database_path, monkeypatch, tmp_corpus) -> None:
    monkeypatch.setenv("NEWS_RESCAN_SECONDS", "often")

    code, _, err = run(capsys, "ingest", str(tmp_corpus))

    assert code == 2
    assert "NEWS_RESCAN_SECONDS" in err


def test_bad_dotenv_setting_exits_2(capsys, database_path, clean_env, tmp_corpus) -> None:
    (clean_env / ".env").write_text("LOG_LEVEL=loud\n")

    code, _, err = run(capsys, "ingest", str(tmp_corpus))

    assert code == 2
    assert "LOG_LEVEL" in err


def test_check_needs_no_settings(capsys, database_path, clean_env, tmp_corpus) -> None:
    """A curator validating files is not stopped by the bot's own configuration."""
    (clean_env / ".env").write_text("LOG_LEVEL=loud\n")

    code, out, _ = run(capsys, "check", str(tmp_corpus))

    assert code == 0
    assert "valid" in out


def test_newer_database_exits_2(capsys, database_path, tmp_corpus) -> None:
    database_path.parent.mkdir(parents=True)
    with sqlite3.connect(database_path) as db:
        db.execute(f"PRAGMA user_version = {latest_schema_version() + 5}")
    db.close()

    code, _, err = run(capsys, "ingest", str(tmp_corpus))

    assert code == 2
    assert "upgrade ai-news-bot" in err


@pytest.mark.parametrize("kind", ["text-file", "under-a-file"])
def test_unusable_database_path_exits_2(
    capsys, clean_env, monkeypatch, tmp_path, tmp_corpus, kind
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    path = notes if kind == "text-file" else notes / "ainews.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(path))

    code, _, err = run(capsys, "ingest", str(tmp_corpus))

    assert code == 2
    assert err.startswith("ainews: ") and str(notes) in err
    assert notes.read_text().startswith("not a database")


@pytest.mark.parametrize("argv", [[], ["check"], ["frobnicate"], ["ingest", "--jsn"]], ids=str)
def test_usage_errors_exit_2(capsys, clean_env, argv) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)

    assert raised.value.code == 2
    assert "usage: ainews" in capsys.readouterr().err


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--version"])

    assert raised.value.code == 0
    assert capsys.readouterr().out.startswith("ainews ")


@pytest.mark.slow
def test_ingest_and_check_do_not_import_discord() -> None:
    """The command line imports discord.py only to run the bot or the demo: ``ingest`` and
    ``check`` start faster, and so does every parsing worker (spawned workers import the main
    module again)."""
    script = "import sys, ainews.__main__; print('discord' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert result.stdout.strip() == "False", result.stderr


# --------------------------------------------------------------------------- NEWS_DIR


def test_run_with_a_missing_news_dir_stops_naming_it(
    capsys, database_path, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "a-token-that-is-never-sent")
    monkeypatch.setenv("NEWS_DIR", str(tmp_path / "gone"))

    code, out, err = run(capsys, "run")

    assert (code, out) == (2, "")
    assert err == (
        f"ainews: NEWS_DIR is {tmp_path / 'gone'}, which does not exist: set NEWS_DIR to your "
        "corpus folder (in the environment or in .env)\n"
    )
    assert not database_path.exists(), "stopped before opening anything"


def test_ingest_without_path_and_a_missing_news_dir_names_it(
    capsys, database_path, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("NEWS_DIR", str(tmp_path / "gone"))

    code, _, err = run(capsys, "ingest")

    assert code == 2
    assert err.startswith(f"ainews: NEWS_DIR is {tmp_path / 'gone'}, which does not exist")


def test_ingest_without_news_dir_says_it_indexes_the_sample(capsys, database_path) -> None:
    code, out, err = run(capsys, "ingest")

    assert code == 0
    assert err == (
        "ainews: NEWS_DIR is not set: indexing the bundled sample corpus of fictional articles; "
        "set NEWS_DIR to your corpus folder\n"
    )
    assert "ingested" in out


# --------------------------------------------------------------------------- Ctrl-C

INTERRUPTED = re.compile(r"ainews: interrupted: (\d+) files indexed, the rest on the next run\n")


def saved_files(database: Path) -> int:
    """Files the store has recorded, read as another process would (0 before it exists)."""
    try:
        reader = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(reader.execute("SELECT count(*) FROM source_files").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        reader.close()


def stories(database: Path) -> dict[str, str]:
    with sqlite3.connect(database) as db:
        found = dict(db.execute("SELECT id, story_id FROM articles WHERE active"))
    db.close()
    return found


@pytest.mark.slow
def test_ctrl_c_in_an_ingest_is_one_line_exit_130_and_the_next_run_completes(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    generator = Path(CHECKOUT) / "bench" / "generate_corpus.py"
    subprocess.run(
        [sys.executable, str(generator), "--count", "12000", str(corpus)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    database = tmp_path / "interrupted.sqlite3"
    env = {**os.environ, "PYTHONPATH": CHECKOUT, "DATABASE_PATH": str(database)}
    ingest = [sys.executable, "-m", "ainews", "ingest", str(corpus), "--json"]
    # Its own process group, as a terminal's foreground command: Ctrl-C reaches the workers too.
    process = subprocess.Popen(
        ingest, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while saved_files(database) == 0 and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 130, err.decode()
    assert out == b""
    said = INTERRUPTED.fullmatch(err.decode())
    assert said, err.decode()
    indexed = int(said[1])
    assert 0 < indexed < 12000
    assert saved_files(database) == indexed, "the store holds exactly what was counted"
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()

    rest = subprocess.run(ingest, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert rest.returncode == 0, rest.stderr.decode()
    report = json.loads(rest.stdout)
    assert (report["ingested"], report["unchanged"]) == (12000 - indexed, indexed)

    clean = tmp_path / "clean.sqlite3"
    subprocess.run(
        ingest, cwd=tmp_path, env={**env, "DATABASE_PATH": str(clean)}, check=True,
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert stories(database) == stories(clean), "stories grouped as by an uninterrupted ingest"


# --------------------------------------------------------------------------- --help

#: What each command's help must name: the settings it reads and its exit codes.
HELP_NAMES = {
    (): ["demo", "run", "ingest", "check", "backup", "copy-db", ".env", "0 ", "1 ", "2 ", "130 "],
    ("demo",): ["sandbox", "Settings: none", "0 ", "130 "],
    ("run",): [
        "DISCORD_TOKEN",
        "NEWS_DIR",
        "DATABASE_PATH",
        "COMMAND_GUILD_IDS",
        "NEWS_RESCAN_SECONDS",
        "LOG_LEVEL",
        "DISCORD_API_BASE",
        "DISCORD_GATEWAY_URL",
        ".env",
        "0 ",
        "2 ",
    ],
    ("ingest",): ["NEWS_DIR", "DATABASE_PATH", ".env", "0 ", "1 ", "2 ", "130 "],
    ("check",): ["Settings: none", "0 ", "1 ", "2 ", "130 "],
    ("backup",): ["DATABASE_PATH", ".env", "working folder", "0 ", "2 ", "130 "],
    ("copy-db",): ["STOPPED", "postgresql://", "Settings: none", "0 ", "2 ", "130 "],
}


@pytest.mark.parametrize("command", list(HELP_NAMES), ids=lambda c: " ".join(c) or "ainews")
def test_help_says_what_it_does_the_settings_it_reads_and_its_exit_codes(
    capsys, command: tuple[str, ...]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main([*command, "--help"])

    assert raised.value.code == 0
    text = capsys.readouterr().out
    assert "Exit codes:" in text
    codes = text.split("Exit codes:", 1)[1]
    for name in HELP_NAMES[command]:
        assert name in (codes if name.endswith(" ") else text), name
    assert max(len(line) for line in text.splitlines()) <= 100
