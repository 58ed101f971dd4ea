"""Finding the article files of a corpus folder, whatever the folder holds."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from ainews.corpus.scan import CorpusFile, CorpusPathError, Unreadable, scan_corpus


def found(root: Path) -> list[str]:
    """Paths the scan lists, relative to ``root``."""
    return sorted(os.path.relpath(f.path, root) for f in scan_corpus(root).files)


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_markdown_files_are_found_recursively(tmp_corpus: Path) -> None:
    for name in ["a.md", "b.markdown", "C.MD", "2020/05/d.md", "2020/e.Markdown"]:
        touch(tmp_corpus / name)
    for name in ["notes.txt", "f.md.bak", "image.png", "README", "2020/g.mdx"]:
        touch(tmp_corpus / name)

    assert found(tmp_corpus) == sorted(
        ["2020/05/d.md", "2020/e.Markdown", "C.MD", "a.md", "b.markdown"]
    )


def test_hidden_files_and_folders_are_skipped(tmp_corpus: Path) -> None:
    touch(tmp_corpus / "visible.md")
    touch(tmp_corpus / ".hidden.md")
    touch(tmp_corpus / ".git" / "x.md")
    touch(tmp_corpus / "drafts" / ".cache" / "y.md")

    assert found(tmp_corpus) == ["visible.md"]


def test_size_and_mtime_are_recorded(tmp_corpus: Path) -> None:
    path = touch(tmp_corpus / "a.md", "12345")
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_789))

    (file,) = scan_corpus(tmp_corpus).files

    assert file.path == str(path)
    assert file.size == 5
    assert file.mtime_ns == 1_600_000_000_123_456_789


def test_a_single_file_is_a_corpus_of_one(tmp_path: Path) -> None:
    path = touch(tmp_path / "notes.txt")

    scan = scan_corpus(path)

    assert [f.path for f in scan.files] == [str(path)]


def test_missing_root_is_a_path_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusPathError, match="cannot read"):
        scan_corpus(tmp_path / "nowhere")


def test_symlinked_files_and_folders_are_followed(tmp_path: Path, tmp_corpus: Path) -> None:
    outside = tmp_path / "outside"
    touch(outside / "shared.md")
    touch(outside / "sub" / "deep.md")
    (tmp_corpus / "link.md").symlink_to(outside / "shared.md")
    (tmp_corpus / "linked-folder").symlink_to(outside / "sub")

    assert found(tmp_corpus) == ["link.md", "linked-folder/deep.md"]


def test_file_symlink_loop_is_reported_not_skipped(tmp_corpus: Path) -> None:
    touch(tmp_corpus / "good.md")
    (tmp_corpus / "a.md").symlink_to(tmp_corpus / "b.md")
    (tmp_corpus / "b.md").symlink_to(tmp_corpus / "a.md")

    scan = scan_corpus(tmp_corpus)

    assert [f.path for f in scan.files] == [str(tmp_corpus / "good.md")]
    assert scan.unreadable == {
        str(tmp_corpus / "a.md"): Unreadable("symlink loop"),
        str(tmp_corpus / "b.md"): Unreadable("symlink loop"),
    }


def test_broken_symlink_is_reported(tmp_corpus: Path) -> None:
    (tmp_corpus / "gone.md").symlink_to(tmp_corpus / "deleted-target.md")

    scan = scan_corpus(tmp_corpus)

    assert scan.files == []
    assert scan.unreadable == {str(tmp_corpus / "gone.md"): Unreadable("broken symlink")}


def test_broken_symlink_without_markdown_name_is_ignored(tmp_corpus: Path) -> None:
    (tmp_corpus / "gone.txt").symlink_to(tmp_corpus / "nothing")
    (tmp_corpus / "gone-folder").symlink_to(tmp_corpus / "nothing-either")

    scan = scan_corpus(tmp_corpus)

    assert (scan.files, scan.unreadable) == ([], {})


def test_folder_symlink_loops_neither_hang_nor_duplicate(tmp_corpus: Path) -> None:
    touch(tmp_corpus / "top.md")
    touch(tmp_corpus / "dir" / "inner.md")
    (tmp_corpus / "dir" / "up").symlink_to("..")
    (tmp_corpus / "dir" / "self").symlink_to(".")
    (tmp_corpus / "again").symlink_to(tmp_corpus / "dir")

    paths = found(tmp_corpus)

    assert sorted(os.path.basename(path) for path in paths) == ["inner.md", "top.md"]


def test_known_files_are_compared_and_new_ones_left_to_stat(tmp_corpus: Path) -> None:
    """Given what ingest knows: unchanged files are listed apart, changed ones with their stat,
    new ones without one (the parsing workers stat them); links are always stat'ed."""
    same = touch(tmp_corpus / "same.md", "12345")
    changed = touch(tmp_corpus / "changed.md")
    new = touch(tmp_corpus / "sub" / "new.md")
    (tmp_corpus / "link.md").symlink_to(same)
    (tmp_corpus / "gone.md").symlink_to(tmp_corpus / "deleted-target.md")
    known = {
        str(same): (str(same), same.stat().st_mtime_ns, 5, None),
        str(changed): (str(changed), changed.stat().st_mtime_ns, 999, None),
    }

    scan = scan_corpus(tmp_corpus, known)

    assert scan.unchanged == [str(same)]
    by_path = {file.path: file for file in scan.files}
    assert by_path.keys() == {str(changed), str(new), str(tmp_corpus / "link.md")}
    assert by_path[str(new)] == CorpusFile(str(new), mtime_ns=-1, size=-1)
    assert by_path[str(changed)].size == 1
    assert by_path[str(tmp_corpus / "link.md")].size == 5
    assert scan.unreadable == {str(tmp_corpus / "gone.md"): Unreadable("broken symlink")}
    assert all(file.size >= 0 for file in scan_corpus(tmp_corpus).files), "no `known`: all"


def unix_socket_at(path: Path) -> socket.socket:
    """A listening Unix socket bound at ``path`` (close it after the test)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    return server


def test_special_files_named_md_are_reported_with_their_stat_and_never_listed(
    tmp_corpus: Path,
) -> None:
    """FIFOs, sockets and devices are told apart by the folder listing (or the stat links
    need anyway): none is handed to the parser, which would wait on a FIFO forever."""
    good = touch(tmp_corpus / "good.md")
    os.mkfifo(tmp_corpus / "pipe.md")
    os.mkfifo(tmp_corpus / "pipe-target")
    (tmp_corpus / "to-pipe.md").symlink_to(tmp_corpus / "pipe-target")
    (tmp_corpus / "null.md").symlink_to(os.devnull)
    os.mkfifo(tmp_corpus / "notes.txt")  # not an article name: not looked at
    with unix_socket_at(tmp_corpus / "sock.md"):
        for known in (None, {}):  # everything stat'ed (check), or new files left to stat (ingest)
            scan = scan_corpus(tmp_corpus, known)

            assert [file.path for file in scan.files] == [str(good)]
            reasons = {os.path.basename(path): p.reason for path, p in scan.unreadable.items()}
            assert reasons == {
                "pipe.md": "not a regular file but a named pipe (FIFO): skipped",
                "to-pipe.md": "not a regular file but a named pipe (FIFO): skipped",
                "null.md": "not a regular file but a character device: skipped",
                "sock.md": "not a regular file but a socket: skipped",
            }
            pipe = os.stat(tmp_corpus / "pipe.md")
            assert scan.unreadable[str(tmp_corpus / "pipe.md")] == Unreadable(
                reasons["pipe.md"], pipe.st_ctime_ns, pipe.st_size
            )


def test_a_file_that_could_not_be_read_is_unchanged_until_written_to_or_chmod_ed(
    tmp_corpus: Path,
) -> None:
    """Such a file is recorded with its change time: the scan compares it to that, so a
    permissions fix alone is noticed, and nothing else makes it read again."""
    path = touch(tmp_corpus / "locked.md", "12345")
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    info = path.stat()
    unreadable = {str(path): (str(path), info.st_ctime_ns, 5, "cannot read the file: denied")}
    parsed_badly = {str(path): (str(path), info.st_mtime_ns, 5, "title: required")}

    assert scan_corpus(tmp_corpus, unreadable).unchanged == [str(path)]
    assert scan_corpus(tmp_corpus, parsed_badly).unchanged == [str(path)]

    chmod_until_the_change_time_moves(path, 0o600)

    scan = scan_corpus(tmp_corpus, unreadable)
    assert (scan.unchanged, [file.path for file in scan.files]) == ([], [str(path)])
    assert scan_corpus(tmp_corpus, parsed_badly).unchanged == [str(path)], "content unchanged"


def chmod_until_the_change_time_moves(path: Path, mode: int) -> None:
    """``chmod``; the kernel's clock for change times ticks every few milliseconds."""
    before = path.stat().st_ctime_ns
    for _ in range(200):
        os.chmod(path, mode)
        if path.stat().st_ctime_ns != before:
            return
        time.sleep(0.005)
    raise AssertionError("the change time did not move")


def test_a_known_special_file_is_unchanged_and_a_new_one_in_its_place_is_looked_at(
    tmp_corpus: Path,
) -> None:
    pipe = tmp_corpus / "pipe.md"
    os.mkfifo(pipe)
    info = pipe.stat()
    known = {str(pipe): (str(pipe), info.st_ctime_ns, 0, "not a regular file ...")}

    assert scan_corpus(tmp_corpus, known).unchanged == [str(pipe)]

    pipe.unlink()
    touch(pipe, "now an article")
    scan = scan_corpus(tmp_corpus, known)
    assert [file.path for file in scan.files] == [str(pipe)]
    assert scan.unreadable == {}
