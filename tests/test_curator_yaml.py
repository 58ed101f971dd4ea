"""The fast front-matter parser returns what ``yaml.safe_load`` returns, or fails as it does."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ainews.corpus.curator_yaml import (
    MAX_FLOW_NESTING,
    MergeTooLargeError,
    NestingTooDeepError,
    load_front_matter_yaml,
)
from ainews.settings import SAMPLE_CORPUS

BENCH_GENERATOR = Path(__file__).resolve().parents[1] / "bench" / "generate_corpus.py"


def outcome(load: Callable[[str], Any], text: str) -> tuple[str, ...]:
    """What a loader made of ``text``: the value's repr (1, 1.0 and True differ), or the error."""
    try:
        value = load(text)
    except yaml.YAMLError:
        return ("YAMLError",)
    except Exception as error:  # PyYAML's constructors raise ValueError, KeyError, ...
        return (type(error).__name__,)
    return ("value", repr(value))


def assert_loads_like_safe_load(text: str) -> None:
    assert outcome(load_front_matter_yaml, text) == outcome(yaml.safe_load, text)


def libyaml_safe_load(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def front_matter_of(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    head, found, _ = text[4:].partition("\n---\n")
    assert found, path
    return head + "\n"


TRICKY_YAML = {
    "octal-looking": "a: 012\nb: 0o17\nc: 09\nd: 00\ne: 0",
    "hex-binary-underscore": "a: 0x1F\nb: 0b101\nc: 1_000\nd: -0x1F",
    "yes-no-on-off": "a: yes\nb: no\nc: on\nd: off\ne: Yes\nf: NO\ng: y\nh: n",
    "true-false-cases": "a: True\nb: FALSE\nc: tRUE\nd: true",
    "nulls": "a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: nULL",
    "odd-keys": "yes: 1\nno: 2\nnull: 3\non: 4\nTrue: 5",
    "dates": "a: 2020-05-19\nb: 2020-5-9\nc: 2020-05-19T04:12:00Z\nd: 2020-05-19 04:12:00 +02:00",
    "fractional-seconds": "a: 2020-05-19T04:12:00.123456-05:30\nb: 2001-12-14t21:59:43.10-05:00",
    "invalid-date": "a: 2020-02-30",
    "floats": "a: 1.5\nb: -2.5e+3\nc: .5\nd: 1.\ne: 6.8523015e+5\nf: 1.0e3\ng: 1e3",
    "infinities-nan": "a: .inf\nb: -.Inf\nc: .NaN\nd: +.inf",
    "signed-ints": "a: -1\nb: +1\nc: -0\nd: -x\ne: +x",
    "sexagesimal": "a: 1:30\nb: 190:20:30\nc: 1:30.5\nd: 12:60",
    "hash-inside-plain": "a: C# rocks\nb: x#y\nc: issue #12",
    "trailing-comments": "a: value # comment\nb: 1 # one\nc: 'quoted' # c\nd: \"dq\" # d\n# end",
    "comments-everywhere": "# top\na: 1 #c\n  # indented comment\n\nb:   # empty\n  c: 2",
    "key-value-value": "key: value: x",
    "plain-with-colon-space": "title: Sony: a deal",
    "plain-ending-in-colon": "a: x:",
    "urls-with-colons": "a: https://example.com:8080/p?x=1#frag\nb: mailto:x@y.z",
    "quoted-keys": "\"quoted key\": 1\n'single key': 2\nplain: 3",
    "unicode-key": "é: 1\nключ: 2",
    "dashed-keys": "key-with-dash: 1\nkey_underscore: 2\n_private: 3\nA1: 4",
    "key-space-before-colon": "a : 1",
    "key-no-space-after-colon": "a:b",
    "single-quotes": "a: 'it''s'\nb: ''\nc: 'x # not a comment'\nd: '  spaced  '",
    "single-quote-odd": "a: 'it's'",
    "single-in-double": "a: \"it's\"\nb: 'say \"hi\"'",
    "double-quote-escapes": 'a: "tab\\there"\nb: "q \\" q"\nc: "\\u00e9\\x41"\nd: "\\N\\_"',
    "double-quote-empty": 'a: ""\nb: "  x  "',
    "double-quote-trailing-text": 'a: "x" trailing',
    "unterminated-quotes": "a: 'never\nb: 1",
    "unterminated-double": 'a: "never',
    "multi-line-plain": "a: multi\n  line plain\n  scalar\nb: 2",
    "multi-line-quoted": "a: 'multi\n  line'\nb: \"x\n  y\"",
    "flow-collections": "a: [1, 2, three]\nb: {x: 1, y: [a, b]}\nc: []\nd: {}",
    "flow-multi-line": "a: [\n  1,\n  2\n]",
    "anchors-aliases": "a: &anchor value\nb: *anchor\nc: &list [1, 2]\nd: *list",
    "merge-keys": "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\nmore:\n  <<: [*b, {z: 4}]",
    "undefined-alias": "a: *nowhere",
    "tags": "a: !!str 123\nb: !!int '42'\nc: !!float 1\nd: !!bool yes\ne: !!null ''",
    "binary-set-omap": "a: !!binary aGVsbG8=\nb: !!set {x, y}\nc: !!omap [x: 1, y: 2]",
    "bad-tag-values": "a: !!int lots",
    "bad-bool-tag": "a: !!bool maybe",
    "bad-timestamp-tag": "a: !!timestamp soon",
    "python-tag-refused": "a: !!python/object/apply:os.system [echo hi]",
    "value-tag": "a: =",
    "block-literal": "a: |\n  line one\n  line two\nb: >\n  folded\n  text\n",
    "block-chomping": "a: |-\n  keep\n\n  gaps\nb: >+\n  x\n\nc: 1",
    "sequence-at-key-indent": "topics:\n- AI\n- Robotics\nnext: 1",
    "sequence-indented": "topics:\n  - AI\n  - Robotics\nnext: 1",
    "sequence-of-mappings": "- a: 1\n  b: 2\n- c: 3\n-   d: 4\n    e: 5",
    "nested-in-sequences": (
        "images:\n  - url: x\n    width: 1\n  - url: y\n"
        "    nested:\n      - a\n      - b: c\n        d:\n        - e"
    ),
    "mapping-in-seq-then-seq": "- a:\n  - x\n  b: 1\n- a:\n- z",
    "nested-sequences": "- - a\n  - b\n- - c",
    "empty-items": "- \n-\n- x",
    "comment-item": "- # nothing\n- x",
    "duplicate-keys": "a: 1\na: 2\nb:\n  c: 1\nb: 3",
    "tab-in-value": "a:\tb",
    "tab-indent": "a:\n\t- x",
    "tab-inside-text": "a: x\ty",
    "only-comments": "# just a comment\n# another one",
    "empty-document": "",
    "blank-lines": "   \n\n  \n",
    "top-level-list": "- a\n- b",
    "top-level-scalar": "plain scalar document",
    "top-level-number": "42",
    "indented-document": "  a: 1\n  b: 2",
    "bad-indent": "a:\n    b: 1\n  c: 2",
    "dedent-into-nothing": "  a: 1\nb: 2",
    "continuation-after-value": "a: 1\n  b: 2",
    "complex-key": "? complex key\n: value",
    "reserved-indicators": "a: @x",
    "backtick": "a: `x",
    "directive": "%YAML 1.1\n---\na: 1",
    "document-end": "a: 1\n...\n",
    "two-documents": "a: 1\n---\nb: 2",
    "dash-alone-value": "a: -",
    "question-mark-value": "a: ?x\nb: ? y",
    "percent-value": "a: 50%\nb: '%d'",
    "trailing-spaces": "a: spaced value   \nb: 'q'   ",
    "crlf-lines": "a: x\r\nb: 1\r\n",
    "lone-cr": "a: x\rb: y",
    "trailing-cr": "a: x\r",
    "next-line": "a: x\x85y",
    "line-separator": "a: x\u2028y",
    "paragraph-separator": "a: x\u2029y",
    "non-printable": "a: x\x07y",
    "bom-first": "\ufeffa: 1",
    "bom-inside": "a: x\ufeffy",
    "unicode-text": "a: 日本語 🤖 – ’quotes’\nb: \"ü\"",
    "brackets-inside-plain": "a: x[y]\nb: x, y\nc: x]\nd: a{b}",
    "flow-sixty-deep": "a: " + "[" * 60 + "]" * 60,
    "seed-like": (
        'title: "T"\nquality: 115\nheat: -1\npublished: false\n\n'
        'provider:\n  name: South China Morning Post\n  images:\n    - url: "https://x/y.jpg"\n'
        "      width: 50\n"
    ),
}  # fmt: skip


def test_there_are_forty_plus_tricky_snippets() -> None:
    assert len(TRICKY_YAML) >= 40


#: Where PyYAML's two safe loaders disagree with each other: its pure-Python scanner refuses a
#: tab after ``key:`` or inside a plain scalar, libyaml (what the parser falls back to) accepts it.
LIBYAML_DIFFERS = {"tab-in-value", "tab-inside-text"}


@pytest.mark.parametrize("name", TRICKY_YAML.keys())
def test_tricky_yaml_loads_like_safe_load(name: str) -> None:
    text = TRICKY_YAML[name]
    if name in LIBYAML_DIFFERS:
        assert outcome(yaml.safe_load, text) != outcome(libyaml_safe_load, text)
        assert outcome(load_front_matter_yaml, text) == outcome(libyaml_safe_load, text)
    else:
        assert_loads_like_safe_load(text)


@pytest.mark.parametrize("path", sorted(SAMPLE_CORPUS.glob("*.md")), ids=lambda p: p.stem)
def test_sample_corpus_loads_like_safe_load(path: Path) -> None:
    front_matter = front_matter_of(path)

    assert_loads_like_safe_load(front_matter)
    assert isinstance(load_front_matter_yaml(front_matter), dict)


@pytest.fixture(scope="module")
def generated_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    if not BENCH_GENERATOR.exists():
        pytest.skip("bench/generate_corpus.py is not in this checkout")
    spec = importlib.util.spec_from_file_location("bench_generate_corpus", BENCH_GENERATOR)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generator  # its dataclasses look their module up there
    spec.loader.exec_module(generator)
    paths: list[Path] = generator.generate_corpus(tmp_path_factory.mktemp("bench"), 300, 7)
    return paths


def test_generated_corpus_loads_like_safe_load(generated_corpus: list[Path]) -> None:
    assert len(generated_corpus) == 300
    disagreements = [
        path.name
        for path in generated_corpus
        if outcome(load_front_matter_yaml, text := front_matter_of(path))
        != outcome(yaml.safe_load, text)
    ]

    assert disagreements == []


def test_results_are_fresh_objects_each_time() -> None:
    text = "topics:\n  - AI\nprovider:\n  name: P\n"
    first = load_front_matter_yaml(text)
    first["topics"].append("mutated")
    first["provider"]["name"] = "mutated"

    assert load_front_matter_yaml(text) == {"topics": ["AI"], "provider": {"name": "P"}}


def test_nesting_deeper_than_the_fast_path_recursion_still_parses() -> None:
    """600 indented levels overflow the line parser's recursion; libyaml must take over."""
    depth = 600
    text = "".join(" " * level + f"k{level}:\n" for level in range(depth)) + " " * depth + "x: 1\n"

    value = load_front_matter_yaml(text)

    assert value == libyaml_safe_load(text)
    for level in range(depth):
        value = value[f"k{level}"]
    assert value == {"x": 1}


def test_flow_nesting_is_bounded() -> None:
    within = "a: " + "[" * MAX_FLOW_NESTING + "]" * MAX_FLOW_NESTING
    beyond = "a: " + "[" * (MAX_FLOW_NESTING + 1) + "]" * (MAX_FLOW_NESTING + 1)

    assert_loads_like_safe_load(within)
    with pytest.raises(NestingTooDeepError):
        load_front_matter_yaml(beyond)


def test_block_nesting_is_bounded() -> None:
    """Compact ``- - - x`` nests one level per two columns; far beyond any real file."""
    within = "a:\n" + "- " * 300 + "x\n"
    beyond = "a:\n" + "- " * 600 + "x\n"

    assert load_front_matter_yaml(within) == libyaml_safe_load(within)
    with pytest.raises(NestingTooDeepError):
        load_front_matter_yaml(beyond)


def test_merge_keys_are_bounded_but_ordinary_merges_work() -> None:
    ordinary = "base: &b {x: 1, y: 2}\na:\n  <<: *b\nb:\n  <<: [*b, {z: 3}]\n  x: 0\n"
    levels = ["l0: &l0 {a: 1}"]
    levels += [f"l{n}: &l{n} {{<<: [{', '.join([f'*l{n - 1}'] * 9)}]}}" for n in range(1, 6)]

    assert load_front_matter_yaml(ordinary)["b"] == {"x": 0, "y": 2, "z": 3}
    assert_loads_like_safe_load(ordinary)
    with pytest.raises(MergeTooLargeError):
        load_front_matter_yaml("\n".join(levels))


def test_sequence_alias_bomb_shares_one_object(alias_bomb_yaml: str) -> None:
    value = load_front_matter_yaml(alias_bomb_yaml)

    assert value["lol9"][0] is value["lol9"][8]
    assert value["lol1"][0] == ["lol"] * 9
