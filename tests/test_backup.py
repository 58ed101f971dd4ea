"""``ainews backup``: a consistent copy of the database while it is in use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ainews.__main__ import main
from ainews.settings import SAMPLE_CORPUS
from ainews.store.sqlite import NEW_DATABASE_PAGE_SIZE


def test_backup_copies_a_database_that_is_open_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "ainews.sqlite3"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(database))
    assert main(["ingest", str(SAMPLE_CORPUS)]) == 0
    writer = sqlite3.connect(database)  # another process would hold it open the same way
    writer.execute("BEGIN IMMEDIATE")
    try:
        assert main(["backup", str(tmp_path / "copy.sqlite3")]) == 0
    finally:
        writer.rollback()
        writer.close()

    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("PRAGMA page_size").fetchone() == (NEW_DATABASE_PAGE_SIZE,)
    original = sqlite3.connect(database)
    count = "SELECT count(*) FROM articles"
    assert copy.execute(count).fetchone() == original.execute(count).fetchone() != (0,)


def test_backup_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "ainews.sqlite3"))
    existing = tmp_path / "copy.sqlite3"
    existing.write_text("keep me")
    assert main(["backup", str(existing)]) == 2
    assert existing.read_text() == "keep me"
    assert "already exists" in capsys.readouterr().err


def test_backup_from_another_folder_refuses_a_database_that_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As from cron, in the home folder: the default data/ainews.sqlite3 is not there."""
    monkeypatch.delenv("DATABASE_PATH", raising=False)
    monkeypatch.chdir(tmp_path)

    assert main(["backup", str(tmp_path / "copy.sqlite3")]) == 2

    err = capsys.readouterr().err
    assert err.startswith(
        f"ainews: no database at {tmp_path / 'data' / 'ainews.sqlite3'} (DATABASE_PATH, "
        f"relative to the working folder {tmp_path}): run ainews from the folder holding .env"
    )
    assert list(tmp_path.iterdir()) == [], "no empty database created, no backup written"


@pytest.mark.parametrize(
    ("content", "said"),
    [(b"", "is empty (no tables)"), (b"not a database\n" * 100, "cannot read the database")],
    ids=["empty-file", "text-file"],
)
def test_backup_refuses_a_file_that_holds_no_bot_data(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    said: str,
) -> None:
    database = tmp_path / "ainews.sqlite3"
    database.write_bytes(content)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(database))

    assert main(["backup", str(tmp_path / "copy.sqlite3")]) == 2

    assert said in capsys.readouterr().err
    assert database.read_bytes() == content, "left as it was"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ainews.sqlite3"]


def test_backup_names_both_files_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", "ainews.sqlite3")
    assert main(["ingest", str(SAMPLE_CORPUS)]) == 0
    capsys.readouterr()

    assert main(["backup", "copy.sqlite3"]) == 0

    assert capsys.readouterr().out == (
        f"backed up {tmp_path / 'ainews.sqlite3'} to {tmp_path / 'copy.sqlite3'}\n"
    )
