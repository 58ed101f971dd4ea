"""YAML front matter, parsed fast when it is written the way curators' tools write it.

Profiling a 100,000-file corpus showed the YAML parse is where ingest spends its time: even
libyaml's C parser pays for building an event and a node object per token. Curators' tools write
a small, regular subset of YAML (block mappings and sequences, quoted or plain one-line
scalars), and this module reads that subset directly from the lines. Anything outside it (flow
collections, anchors and aliases, tags, block scalars, multi-line or escaped strings, tabs, odd
indentation) makes the fast path give up, and the document goes to PyYAML's safe loader, so the
result is always what ``yaml.safe_load`` returns. Plain scalars are typed by PyYAML's own resolver
and constructor, so ``115``, ``false``, ``~`` and timestamps come out exactly as PyYAML makes them.
Tests check the two agree on every file of the sample corpus, the benchmark corpus and the
hostile cases.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import Reader
from yaml.resolver import Resolver

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

MAX_FLOW_NESTING = 64
#: Bound on the columns of block structure (indentation and ``- ``/``? ``/``: `` indicators) a
#: line may open with: block collections nest at least one level per two columns, and libyaml's
#: composer recurses once per level (``- - - ...`` 30,000 deep crashes a worker thread).
MAX_BLOCK_COLUMNS = 1_000
#: Bound on the pairs merge keys (``<<: *a``) copy: aliases share nodes, but merges copy every
#: pair, so nine merges of nine merges ... expand exponentially (a "billion laughs" of pairs).
MAX_MERGED_PAIRS = 10_000
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")
_BLOCK_PREFIX = re.compile(r"^[ \t?:-]*", re.MULTILINE)
#: Line breaks for YAML besides ``\n``; the fast path reads lines split on ``\n`` only.
_OTHER_LINE_BREAKS = re.compile("[\r\x85\u2028\u2029]")
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: A line's indentation and its content: blank lines and comment lines do not match.
_CONTENT_LINE = re.compile(r"^( *)([^ #\n](?:[^\n]*[^ \n])?) *$", re.MULTILINE)
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +|$)")
_PLAIN_FIRST_FORBIDDEN = frozenset("&*!|>[]{}%@`,?:#-\"'\\")
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
        return _FastSubsetParser(text).parse()
    except (_NotTheCommonSubset, RecursionError):
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


_plain_cache: dict[str, Any] = {}
_PLAIN_CACHE_SIZE = 4096


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


def _plain_scalar(text: str) -> Any:
    """A plain scalar typed as PyYAML types it; memoised, since keys and small values repeat."""
    try:
        return _plain_cache[text]
    except KeyError:
        pass
    value = _resolve_plain_scalar(text)
    if len(_plain_cache) >= _PLAIN_CACHE_SIZE:
        _plain_cache.clear()
    _plain_cache[text] = value
    return value


def _resolve_plain_scalar(text: str) -> Any:
    tag = _resolver.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag == _STR_TAG:
        return text
    construct = _constructors.get(tag)
    if construct is None:
        raise _NotTheCommonSubset
    return construct(ScalarNode(tag, text))


class _FastSubsetParser:
    """Block mappings and sequences of one-line scalars, read line by line."""

    def __init__(self, text: str) -> None:
        if "\t" in text or Reader.NON_PRINTABLE.search(text) or _OTHER_LINE_BREAKS.search(text):
            raise _NotTheCommonSubset
        self.lines = [(len(indent), content) for indent, content in _CONTENT_LINE.findall(text)]
        self.index = 0

    def parse(self) -> Any:
        if not self.lines:
            return None
        value = self._block(self.lines[0][0])
        if self.index != len(self.lines):
            raise _NotTheCommonSubset
        return value

    def _block(self, indent: int) -> Any:
        content = self.lines[self.index][1]
        if content == "-" or content.startswith("- "):
            return self._sequence(indent)
        return self._mapping(indent)

    def _mapping(self, indent: int) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        while self.index < len(self.lines):
            line_indent, content = self.lines[self.index]
            if line_indent < indent or (line_indent == indent and content.startswith("- ")):
                break
            match = _KEY.match(content)
            if line_indent > indent or match is None:
                raise _NotTheCommonSubset
            self.index += 1
            key = _plain_scalar(match.group(1))
            mapping[key] = self._value(content[match.end() :], indent)
        return mapping

    def _sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while self.index < len(self.lines):
            line_indent, content = self.lines[self.index]
            if line_indent < indent or not content.startswith("- "):
                break
            if line_indent > indent:
                raise _NotTheCommonSubset
            item = content[2:].lstrip(" ")
            item_indent = indent + len(content) - len(item)
            if _KEY.match(item):
                self.lines[self.index] = (item_indent, item)
                items.append(self._mapping(item_indent))
            else:
                self.index += 1
                items.append(self._scalar(item))
                self._no_continuation(indent)
        return items

    def _value(self, rest: str, indent: int) -> Any:
        if not rest or rest.startswith("#"):
            if self.index < len(self.lines):
                next_indent, content = self.lines[self.index]
                if next_indent > indent:
                    return self._block(next_indent)
                if next_indent == indent and content.startswith("- "):
                    return self._sequence(indent)
            return None
        value = self._scalar(rest)
        self._no_continuation(indent)
        return value

    def _no_continuation(self, indent: int) -> None:
        if self.index < len(self.lines) and self.lines[self.index][0] > indent:
            raise _NotTheCommonSubset

    @staticmethod
    def _scalar(text: str) -> Any:
        first = text[0]
        if first == '"':
            end = text.find('"', 1)
            if end != len(text) - 1 or "\\" in text:
                raise _NotTheCommonSubset
            return text[1:end]
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
