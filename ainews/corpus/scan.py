"""Finding the article files of a corpus: ``*.md`` and ``*.markdown``, recursively.

Hidden files and folders (a leading dot, such as ``.git``) are skipped. Symbolic links are
followed; a folder reached twice (a symlink loop, or two links to one folder) is read once. A file
that cannot be stat'ed (a broken link, a link loop) is reported with its reason, not skipped; so
is one that is not a regular file (a FIFO, a socket, a device named ``*.md``), which is never
opened: opening a FIFO waits for a writer, and reading a device may never end.
Only ``stat`` is called here: a scan of 100,000 unchanged files reads no file content. And only
the files the caller asks about are stat'ed (those it knows, to tell whether they changed): a
``stat`` takes a few microseconds, most of a scan, so new files are listed without one: the
parsing workers take it from the open file as they read it, in parallel. The folder listing tells
regular files from the others without a ``stat`` (``d_type``), so only links and special files
are stat'ed among the new ones.

A file that cannot be read is recorded with its *change* time (``st_ctime_ns``) where others
have their modification time: writing to a file and changing its permissions both move it, so
the file is read again after either, and not on every rescan before.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

ARTICLE_SUFFIXES = (".md", ".markdown")


class CorpusFile(NamedTuple):
    """An article file as ``stat`` sees it (a tuple: a scan makes one per file); -1 for a new
    file the scan did not stat."""

    path: str
    mtime_ns: int = -1
    size: int = -1


#: A file as ingest last recorded it: ``(path, mtime_ns, size, error)``, the store's row as
#: SQLite returns it (a rescan loads one per file; making objects of them took longer than the
#: query). For a file that could not be read, ``mtime_ns`` is its change time (see above).
KnownFile = tuple[str, int, int, str | None]


class Unreadable(NamedTuple):
    """Why a file (or a folder) is not read, and the change time and size to record for it (0
    when it could not be stat'ed)."""

    reason: str
    ctime_ns: int = 0
    size: int = 0

    @classmethod
    def of(cls, reason: str, info: os.stat_result) -> Unreadable:
        return cls(reason, info.st_ctime_ns, info.st_size)


#: What a file that is not a regular one is, by the type bits of its mode.
_FILE_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def not_a_regular_file(mode: int) -> str:
    """The one-line reason for skipping a file whose ``st_mode`` is ``mode``."""
    kind = _FILE_KINDS.get(stat.S_IFMT(mode), "a special file")
    return f"not a regular file but {kind}: skipped"


@dataclass(slots=True)
class CorpusScan:
    root: str
    #: Every article file; given what is known, only the new and changed ones.
    files: list[CorpusFile] = field(default_factory=list)
    #: Given what is known: the known files whose stat has not changed.
    unchanged: list[str] = field(default_factory=list)
    #: Files (and folders) that cannot be read, with why.
    unreadable: dict[str, Unreadable] = field(default_factory=dict)


class CorpusPathError(OSError):
    """The corpus path itself cannot be read (a usage error: exit 2)."""


def is_article_file_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(ARTICLE_SUFFIXES)


def scan_corpus(root: Path | str, known: Mapping[str, KnownFile] | None = None) -> CorpusScan:
    """Every article file under ``root`` (or ``root`` itself, when it is one file), in the
    order the folders list them: sorting 100,000 of them would take as long as a third of the
    scan, and a rescan needs only the new and changed ones in order.

    Given the ``known`` files, each is compared here (a rescan of 100,000 unchanged files then
    makes no object per file), and regular files not in it are listed without a ``stat``
    (``mtime_ns`` and ``size`` -1); symbolic links and special files are always stat'ed, so a
    broken link, a FIFO or a socket is reported here.
    """
    top = os.path.abspath(root)
    scan = CorpusScan(root=top)
    try:
        top_stat = os.stat(top)
    except OSError as error:
        raise CorpusPathError(f"cannot read {top}: {error.strerror}") from None
    if not os.path.isdir(top):
        _add_file(scan, known, top, top_stat)
        return scan
    seen_folders = {(top_stat.st_dev, top_stat.st_ino)}
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            if folder == top:
                raise CorpusPathError(f"cannot read {top}: {error.strerror}") from None
            scan.unreadable[folder] = Unreadable(f"cannot read the folder: {error.strerror}")
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    info = entry.stat()
                    if (info.st_dev, info.st_ino) not in seen_folders:
                        seen_folders.add((info.st_dev, info.st_ino))
                        pending.append(entry.path)
                    continue
                if not name.lower().endswith(ARTICLE_SUFFIXES):
                    continue
                new = known is not None and entry.path not in known
                if new and entry.is_file(follow_symlinks=False):  # d_type: no stat
                    scan.files.append(CorpusFile(entry.path))
                    continue
                info = entry.stat()
            except OSError as error:
                if is_article_file_name(name):
                    scan.unreadable[entry.path] = Unreadable(_stat_failure(error))
                continue
            _add_file(scan, known, entry.path, info)
    return scan


def _add_file(
    scan: CorpusScan, known: Mapping[str, KnownFile] | None, path: str, info: os.stat_result
) -> None:
    seen = known.get(path) if known is not None else None
    if (
        seen is not None
        and seen[2] == info.st_size
        and (
            seen[1] == info.st_mtime_ns
            # could not be read, and neither written to nor chmod'ed since
            or (seen[3] is not None and seen[1] == info.st_ctime_ns)
        )
    ):
        scan.unchanged.append(path)
    elif stat.S_ISREG(info.st_mode):
        scan.files.append(CorpusFile(path, info.st_mtime_ns, info.st_size))
    else:
        scan.unreadable[path] = Unreadable.of(not_a_regular_file(info.st_mode), info)


def _stat_failure(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symlink loop"
    if error.errno == errno.ENOENT:
        return "broken symlink"
    return f"cannot read the file: {error.strerror}"
