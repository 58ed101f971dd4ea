"""``ainews backup``: a consistent copy of the database while it is in use."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ainews.__main__ import main
from ainews.settings import SAMPLE_CORPUS
from ainews.store.database import NEW_DATABASE_PAGE_SIZE


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
