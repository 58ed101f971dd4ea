"""YAML front matter, parsed fast when it is written the way curators' tools write it.

Profiling a 100,000-file corpus showed the YAML parse is where ingest spends its time: even
libyaml's C parser pays for building an event and a node object per token. Curators' tools write
a small, regular subset of YAML (block mappings and sequences, quoted or plain one-line
scalars), and this module reads that subset directly: one regular expression splits every line
into its indentation, ``- `` indicator, ``key:`` and value, and one loop with an explicit stack of
the open collections builds the result (no recursion, so deep nesting costs no stack). Anything
outside the subset (flow collections, anchors and aliases, tags, block scalars, multi-line
strings, escapes other than ``\\"`` and ``\\\\``, tabs, odd indentation, a value PyYAML's
constructors refuse) makes the fast path give up, and the document goes to PyYAML's safe loader,
so the result is always what ``yaml.safe_load`` returns, errors included. Plain scalars are typed
by PyYAML's own resolver and constructor (memoised), so ``115``, ``false``, ``~`` and timestamps
come out exactly as PyYAML makes them; the usual timestamp forms are built directly, the way its
constructor builds them. Tests check the two agree on every file of the sample corpus, the
benchmark corpus and the hostile cases.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

MAX_FLOW_NESTING = 64
#: Bound on the columns of block structure (indentation and ``- ``/``? ``/``: `` indicators) a
#: line may open with: block collections nest at least one level per two columns, and libyaml's
#: composer recurses once per level (``- - - ...`` 30,000 deep crashes a worker thread). The
#: fast path gives up on a block opened beyond it, so the bound holds on both paths.
MAX_BLOCK_COLUMNS = 1_000
#: Bound on the pairs merge keys (``<<: *a``) copy: aliases share nodes, but merges copy every
#: pair, so nine merges of nine merges ... expand exponentially (a "billion laughs" of pairs).
MAX_MERGED_PAIRS = 10_000
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
_BLOCK_PREFIX = re.compile(r"^[ \t?:-]*", re.MULTILINE)
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: The characters the fast path reads: YAML's printable set (PyYAML's ``Reader.NON_PRINTABLE``
#: excludes the rest) without the tab and the line breaks other than ``\n``, since lines are split
#: on ``\n`` only and indentation is counted in spaces.
_FAST_PATH_TEXT = re.compile(
    "[\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*"
)
#: One line: its indentation, a ``- `` sequence indicator, a plain ``key:`` and the rest (a value,
#: a comment, or nothing; trailing spaces included). Every line matches, blank and comment lines
#: as neither indicator nor key with a rest that is empty or starts with ``#``.
_LINE = re.compile(r"^( *)(- +)?(?:([A-Za-z_][A-Za-z0-9_-]*):(?: +|$))?(.*)$", re.MULTILINE)
#: A plain scalar may not start with these (indicators, quotes, escapes; ``-`` only before a digit).
_PLAIN_FIRST_FORBIDDEN = frozenset("&*!|>[]{}%@`,?:#-\"'\\")
#: A double-quoted scalar whose only escapes are ``\"`` and ``\\`` (titles quoting a phrase).
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*(?:\\["\\][^"\\]*)*)"')
_QUOTE_ESCAPE = re.compile(r'\\(["\\])')
#: The timestamp forms curators' tools write (``Z`` or a ``+hh:mm`` offset, whole seconds), which
#: PyYAML makes ``datetime(..., tzinfo=timezone(offset))``; ``timezone`` gives UTC for ``Z``.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:Z|([-+])([0-9]{2}):([0-9]{2}))"
)
_STR_TAG = "tag:yaml.org,2002:str"
_resolver = Resolver()
_constructor = SafeConstructor()
_constructors = {
    "tag:yaml.org,2002:null": lambda node: None,
    "tag:yaml.org,2002:bool": _constructor.construct_yaml_bool,
    "tag:yaml.org,2002:int": _constructor.construct_yaml_int,
    "tag:yaml.org,2002:float": _constructor.construct_yaml_float,
    "tag:yaml.org,2002:timestamp": _constructor.construct_yaml_timestamp,
}
#: Plain scalars already typed (keys and small values repeat from file to file); values are
#: immutable (``None``, bools, numbers, strings, dates), so sharing them is safe.
_plain_cache: dict[str, Any] = {}
_PLAIN_CACHE_SIZE = 4096
_MISSING = object()
#: The key under which the document's value is kept while parsing (see :func:`_parse_fast`),
#: and the "no key is waiting for its value" marker (keys may be ``None`` or ``False``).
_DOCUMENT = object()
_NO_KEY = object()


class NestingTooDeepError(yaml.YAMLError):
    """Collections nested deeper than :data:`MAX_FLOW_NESTING` flow levels or
    :data:`MAX_BLOCK_COLUMNS` block columns (libyaml would overflow its stack)."""


class MergeTooLargeError(yaml.YAMLError):
    """Merge keys that would copy more than :data:`MAX_MERGED_PAIRS` pairs."""


class _NotTheCommonSubset(Exception):
    """Raised inside the fast path when the document needs the full YAML parser."""


def load_front_matter_yaml(text: str) -> Any:
    """Parse a YAML document as ``yaml.safe_load`` would, quickly for the curators' subset.

    Raises ``yaml.YAMLError`` on invalid YAML, :class:`NestingTooDeepError` included: libyaml
    recurses once per nesting level and crashes the process on a few ten thousand of them; and
    :class:`MergeTooLargeError` for merge keys that would expand exponentially.
    """
    try:
        return _parse_fast(text)
    except _NotTheCommonSubset:
        _check_flow_nesting(text)
        _check_block_nesting(text)
        loader = SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_merge_expansion(node)
            return loader.construct_document(node)
        finally:
            loader.dispose()


def _check_flow_nesting(text: str) -> None:
    """Bound the depth of ``[``/``{`` (counted generously: brackets inside strings count too)."""
    depth = 0
    for bracket in _FLOW_BRACKETS.finditer(text):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_FLOW_NESTING:
            raise NestingTooDeepError(f"collections nested deeper than {MAX_FLOW_NESTING} levels")


def _check_block_nesting(text: str) -> None:
    """Bound the block structure a line opens with (counted generously, as with flow)."""
    for prefix in _BLOCK_PREFIX.finditer(text):
        if prefix.end() - prefix.start() > MAX_BLOCK_COLUMNS:
            raise NestingTooDeepError(
                f"block collections nested deeper than {MAX_BLOCK_COLUMNS} columns"
            )


def _check_merge_expansion(root: Node) -> None:
    """Bound the pairs merge keys copy, as PyYAML's ``flatten_mapping`` would (post-order walk)."""
    merged_size: dict[int, int] = {}  # id(node) -> pairs once merged; 0 while in progress
    copied = 0
    pending: list[tuple[Node, bool]] = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        if isinstance(node, ScalarNode) or (not children_done and id(node) in merged_size):
            continue
        if not children_done:
            merged_size[id(node)] = 0
            pending.append((node, True))
            children = node.value if isinstance(node, SequenceNode) else sum(node.value, ())
            pending.extend((child, False) for child in children if id(child) not in merged_size)
        elif isinstance(node, MappingNode):
            sources = [value for key, value in node.value if key.tag == _MERGE_TAG]
            sources += [
                item for value in sources if isinstance(value, SequenceNode) for item in value.value
            ]
            merged = sum(merged_size.get(id(s), 0) for s in sources if isinstance(s, MappingNode))
            copied += merged
            if copied > MAX_MERGED_PAIRS:
                raise MergeTooLargeError(f"merge keys (<<) copy more than {MAX_MERGED_PAIRS} pairs")
            merged_size[id(node)] = len(node.value) + merged


def _parse_fast(text: str) -> Any:
    """The document's value, read line by line; :class:`_NotTheCommonSubset` if it is unusual.

    The open collections form a stack: ``current`` is the innermost, at column ``indent``, and
    ``enclosing`` holds the ones around it. A line at a column left of ``indent`` closes
    collections; one right of it may only open the value of a ``key:`` that ended the line
    before (``pending``); anything else at a deeper column (a continuation line) gives up. The
    document itself is a mapping at column -1 whose one key, :data:`_DOCUMENT`, is pending.
    """
    if _FAST_PATH_TEXT.fullmatch(text) is None:
        raise _NotTheCommonSubset
    cache = _plain_cache
    document: dict[Any, Any] = {}
    current: Any = document  # a dict or a list
    indent = -1
    is_mapping = True
    enclosing: list[tuple[Any, int, bool]] = []
    pending: Any = _DOCUMENT
    for spaces, dash, key, value in _LINE.findall(text):
        if not (key or dash):
            if not value or value[0] == "#":
                continue  # a blank or comment line
            raise _NotTheCommonSubset  # a scalar alone: multi-line scalar, '"key": 1', '? x'...
        column = len(spaces)
        if pending is not _NO_KEY:
            # The pending key's value: the block starting on this line if it is indented more
            # (a sequence may also start at the key's own column), else null.
            if column > indent or (dash and column == indent):
                if column > MAX_BLOCK_COLUMNS:
                    raise _NotTheCommonSubset
                block: Any = [] if dash else {}
                current[pending] = block
                enclosing.append((current, indent, is_mapping))
                current, indent, is_mapping = block, column, not dash
            else:
                current[pending] = None
            pending = _NO_KEY
        while column < indent:
            current, indent, is_mapping = enclosing.pop()
        if column != indent:
            raise _NotTheCommonSubset  # a continuation line, or odd indentation
        if dash:
            if is_mapping:
                raise _NotTheCommonSubset  # "- " at a mapping's column, not after "key:"
            if not key:
                if not value:
                    raise _NotTheCommonSubset  # "-" alone: a null item or a block below it
                if value[-1] == " ":
                    value = value.rstrip(" ")
                # Inline the two common cases of _scalar: "text" and a plain scalar seen before.
                if value[0] == '"' and value.find('"', 1) == len(value) - 1 and "\\" not in value:
                    current.append(value[1:-1])
                else:
                    item = cache.get(value, _MISSING)
                    current.append(_scalar(value) if item is _MISSING else item)
                continue
            # "- key: ...": the item is a mapping whose keys line up with this first one.
            block = {}
            current.append(block)
            enclosing.append((current, indent, False))
            current, indent, is_mapping = block, column + len(dash), True
            if indent > MAX_BLOCK_COLUMNS:
                raise _NotTheCommonSubset
        elif not is_mapping:
            # A key at a sequence's column ends the sequence if it is the value of a key at
            # that same column ("topics:\n- AI\nnext: 1"); any other sequence is a mapping's
            # only content, or the document's, at its column.
            if enclosing[-1][1] != column:
                raise _NotTheCommonSubset
            current, indent, is_mapping = enclosing.pop()
        name = cache.get(key, _MISSING)
        if name is _MISSING:
            name = _plain_scalar(key)
        if not value or value[0] == "#":
            pending = name  # the value is on the lines that follow, or null
            continue
        if value[-1] == " ":
            value = value.rstrip(" ")
        if value[0] == '"' and value.find('"', 1) == len(value) - 1 and "\\" not in value:
            current[name] = value[1:-1]
        else:
            item = cache.get(value, _MISSING)
            current[name] = _scalar(value) if item is _MISSING else item
    if pending is not _NO_KEY:
        current[pending] = None
    return document[_DOCUMENT]


def _scalar(text: str) -> Any:
    """A one-line scalar (no leading or trailing spaces) as PyYAML reads it, if it is simple."""
    first = text[0]
    if first == '"':
        quoted = _DOUBLE_QUOTED.fullmatch(text)
        if quoted is None:
            raise _NotTheCommonSubset  # other escapes, text after the closing quote, or none
        return _QUOTE_ESCAPE.sub(r"\1", quoted.group(1))
    if first == "'":
        body = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or body.replace("''", "").count("'"):
            raise _NotTheCommonSubset
        return body.replace("''", "'")
    if first in _PLAIN_FIRST_FORBIDDEN and not (first == "-" and text[1:2].isdigit()):
        raise _NotTheCommonSubset
    comment = text.find(" #")
    if comment != -1:
        text = text[:comment].rstrip(" ")
    if ": " in text or text.endswith(":"):
        raise _NotTheCommonSubset
    return _plain_scalar(text)


def _plain_scalar(text: str) -> Any:
    """A plain scalar typed as PyYAML types it; memoised, since keys and small values repeat.

    A value PyYAML's constructors refuse (``2020-02-30``) gives up rather than raising here:
    PyYAML reads the whole document before it constructs values, so a syntax error further on
    is what it reports, and only the full parser knows whether there is one.
    """
    value = _plain_cache.get(text, _MISSING)
    if value is not _MISSING:
        return value
    moment = _TIMESTAMP.fullmatch(text)
    try:
        if moment is not None:  # unique per article: built directly, and not memoised
            return _timestamp(*moment.groups())
        value = _resolve_plain_scalar(text)
    except Exception:  # ValueError, OverflowError, ... from the constructors
        raise _NotTheCommonSubset from None
    if len(_plain_cache) >= _PLAIN_CACHE_SIZE:
        _plain_cache.clear()
    _plain_cache[text] = value
    return value


def _timestamp(
    year: str, month: str, day: str, hour: str, minute: str, second: str, *zone: str | None
) -> datetime:
    """What PyYAML's ``construct_yaml_timestamp`` makes of a :data:`_TIMESTAMP` match."""
    sign, zone_hour, zone_minute = zone
    offset = timedelta(0)
    if sign is not None:
        offset = timedelta(hours=int(zone_hour or 0), minutes=int(zone_minute or 0))
        if sign == "-":
            offset = -offset
    date_and_time = int(year), int(month), int(day), int(hour), int(minute), int(second)
    return datetime(*date_and_time, tzinfo=timezone(offset))


def _resolve_plain_scalar(text: str) -> Any:
    tag = _resolver.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag == _STR_TAG:
        return text
    construct = _constructors.get(tag)
    if construct is None:
        raise _NotTheCommonSubset
    return construct(ScalarNode(tag, text))
