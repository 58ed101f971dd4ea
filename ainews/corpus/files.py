"""Reading one curator file into an :class:`~ainews.corpus.article.Article`, whatever is in it.

Every way a file can be wrong ends in :class:`ArticleError` with a one-line reason: too large,
binary, not UTF-8, empty, no front matter or an unterminated one, invalid YAML (alias bombs and
absurd nesting included), or fields that do not validate. A UTF-8 BOM and CRLF line endings are
valid. Files are bounded to :data:`MAX_FILE_BYTES` before anything is parsed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from ainews.corpus.article import Article, ArticleError, Warnings, article_from_front_matter
from ainews.corpus.curator_yaml import load_front_matter_yaml

MAX_FILE_BYTES = 2 * 1024 * 1024
#: A line of three dashes (trailing blanks allowed), found from the line break before it: a
#: search for a literal start is much faster than trying ``^`` at every position.
_FRONT_MATTER_END = re.compile(r"\n-{3}[ \t]*$", re.MULTILINE)
_READ_CHUNK = 64 * 1024


def read_article_file(path: Path | str, warnings: Warnings | None = None) -> Article:
    """Read and validate one file; a bad one raises :class:`ArticleError`, never anything else.
    What validation dropped from the article is added to ``warnings``."""
    return parse_article_bytes(read_file_bounded(path)[0], warnings)


def read_file_bounded(path: Path | str) -> tuple[bytes, os.stat_result]:
    """The file's bytes, at most ``MAX_FILE_BYTES + 1`` of them (enough to tell it is too large),
    and its ``stat`` as it was read; :class:`ArticleError` when it cannot be read.

    Sized by ``fstat``: asking ``read`` for the whole bound would allocate (and page in) 2 MiB for
    every 4 KiB article. Reads on to end of file in case it grew since, or a read came up short.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            info = os.fstat(fd)
            parts = [os.read(fd, min(info.st_size, MAX_FILE_BYTES) + 1)]
            total = len(parts[0])
            while parts[-1] and total <= MAX_FILE_BYTES:
                parts.append(os.read(fd, min(_READ_CHUNK, MAX_FILE_BYTES + 1 - total)))
                total += len(parts[-1])
        finally:
            os.close(fd)
    except OSError as error:
        raise ArticleError(f"cannot read the file: {error.strerror or error}") from None
    return b"".join(parts), info


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
