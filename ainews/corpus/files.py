"""Reading one curator file into an :class:`~ainews.corpus.article.Article`, whatever is in it.

Every way a file can be wrong ends in :class:`ArticleError` with a one-line reason: too large,
binary, not UTF-8, empty, no front matter or an unterminated one, invalid YAML (alias bombs and
absurd nesting included), or fields that do not validate. A UTF-8 BOM and CRLF line endings are
valid. Files are bounded to :data:`MAX_FILE_BYTES` before anything is parsed.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import yaml

from ainews.corpus.article import Article, ArticleError, Warnings, article_from_front_matter
from ainews.corpus.curator_yaml import load_front_matter_yaml
from ainews.corpus.scan import not_a_regular_file

MAX_FILE_BYTES = 2 * 1024 * 1024
#: A line of three dashes (trailing blanks allowed), found from the line break before it: a
#: search for a literal start is much faster than trying ``^`` at every position.
_FRONT_MATTER_END = re.compile(r"\n-{3}[ \t]*$", re.MULTILINE)
_READ_CHUNK = 64 * 1024
#: Never wait in ``open``: a FIFO (or a device) put where a file was after the scan would block
#: the worker until something writes to it. Regular files ignore both flags.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class UnreadableFile(ArticleError):
    """The file cannot be read (it is not there, not a regular file, or not readable), with its
    ``stat`` when one could be taken: ingest records it, so the file is not tried again until it
    changes."""

    def __init__(self, reason: str, info: os.stat_result | None) -> None:
        super().__init__(reason)
        self.info = info


def read_article_file(path: Path | str, warnings: Warnings | None = None) -> Article:
    """Read and validate one file; a bad one raises :class:`ArticleError`, never anything else.
    What validation dropped from the article is added to ``warnings``."""
    return parse_article_bytes(read_file_bounded(path)[0], warnings)


def read_file_bounded(path: Path | str) -> tuple[bytes, os.stat_result]:
    """The file's bytes, at most ``MAX_FILE_BYTES + 1`` of them (enough to tell it is too large),
    and its ``stat`` as it was read; :class:`UnreadableFile` when it cannot be read, or is not a
    regular file (told by ``fstat``, before anything is read; opened without waiting).

    Sized by ``fstat``: asking ``read`` for the whole bound would allocate (and page in) 2 MiB for
    every 4 KiB article. Reads on to end of file in case it grew since, or a read came up short.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        raise _unreadable(path, error) from None
    info = None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(not_a_regular_file(info.st_mode), info)
        parts = [os.read(fd, min(info.st_size, MAX_FILE_BYTES) + 1)]
        total = len(parts[0])
        while parts[-1] and total <= MAX_FILE_BYTES:
            parts.append(os.read(fd, min(_READ_CHUNK, MAX_FILE_BYTES + 1 - total)))
            total += len(parts[-1])
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror or error}", info) from None
    finally:
        os.close(fd)
    return b"".join(parts), info


def _unreadable(path: Path | str, error: OSError) -> UnreadableFile:
    """Why ``path`` could not be opened, with its ``stat`` if it has one (one more system call,
    for unreadable files only): a socket cannot be opened at all."""
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        return UnreadableFile(not_a_regular_file(info.st_mode), info)
    return UnreadableFile(f"cannot read the file: {error.strerror or error}", info)


def parse_article_bytes(data: bytes, warnings: Warnings | None = None) -> Article:
    if len(data) > MAX_FILE_BYTES:
        raise ArticleError(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    if not data or data.isspace():
        raise ArticleError("empty file")
    if b"\x00" in data:
        raise ArticleError("binary file, not Markdown text")
    try:
        text = data.decode("utf-8")  # "utf-8-sig" would drop the BOM too, in a slower Python codec
    except UnicodeDecodeError as error:
        raise ArticleError(f"not valid UTF-8 (byte {error.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:  # finding one character is far cheaper than a replace
        text = text.replace("\r\n", "\n")
    return article_from_front_matter(_front_matter(text), warnings)


def _front_matter(text: str) -> object:
    newline = text.find("\n")
    first_line = text if newline == -1 else text[:newline]
    if first_line.rstrip(" \t") != "---":
        raise ArticleError("no front matter: the file must start with a '---' line")
    end = _FRONT_MATTER_END.search(text, newline) if newline != -1 else None
    if end is None:
        raise ArticleError("front matter is not terminated by a '---' line")
    try:
        return load_front_matter_yaml(text[newline + 1 : end.start() + 1])
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise ArticleError(f"invalid YAML{where}: {error.problem or error}") from None
    except (yaml.YAMLError, RecursionError) as error:
        raise ArticleError(f"invalid YAML: {error or type(error).__name__}") from None
    except Exception as error:  # PyYAML's constructors: 2020-02-30, !!int x, !!bool maybe ...
        raise ArticleError(f"invalid YAML value: {error or type(error).__name__}") from None
