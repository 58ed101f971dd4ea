"""Discord's limits on what a bot may send, checked the way Discord checks them.

Every check adds an entry to a :class:`FormErrors` tree shaped like Discord's ``errors`` object
(``{"embeds": {"0": {"title": {"_errors": [{"code", "message"}]}}}}``); a non-empty tree is
answered with 400, code 50035, "Invalid Form Body".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from discord_sandbox.errors import empty_message, invalid_form_body

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER_TEXT = 2048
MAX_AUTHOR_NAME = 256
MAX_EMBEDS_TOTAL = 6000
MAX_ACTION_ROWS = 5
MAX_ROW_COMPONENTS = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_SELECT_PLACEHOLDER = 150
MAX_SELECT_OPTIONS = 25
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_VALUE = 100
MAX_COMMAND_OPTIONS = 25
MAX_COMMAND_DESCRIPTION = 100
MAX_GLOBAL_COMMANDS = 100
MAX_ALLOWED_MENTION_IDS = 100
MENTION_KINDS = ("roles", "users", "everyone")

FLAG_COMPONENTS_V2 = 1 << 15
ACTION_ROW, BUTTON = 1, 2
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
LINK_BUTTON_STYLE = 5
PREMIUM_BUTTON_STYLE = 6

_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")

Path = tuple[str | int, ...]


class FormErrors:
    """Collects validation failures into Discord's nested ``errors`` object."""

    def __init__(self, prefix: Path = ()) -> None:
        self.prefix = prefix
        self.tree: dict[str, Any] = {}

    def add(self, path: Path, code: str, message: str) -> None:
        """Record one failure at ``path`` (keys and list indexes, as Discord nests them)."""
        node = self.tree
        for key in (*self.prefix, *path):
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: Path, value: object, limit: int) -> None:
        """Fail when a string or list at ``path`` is longer than ``limit``."""
        if isinstance(value, str | list) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def required_text(self, path: Path, value: object, limit: int) -> None:
        """Fail when a required string is missing, empty or longer than ``limit``."""
        if not isinstance(value, str) or not value:
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        else:
            self.max_length(path, value, limit)

    def url(self, path: Path, value: object, *, attachments: bool) -> None:
        """Fail unless ``value`` is an http(s) URL (or ``attachment://`` where allowed)."""
        if value is None:
            return
        schemes = ("http", "https", "attachment") if attachments else ("http", "https")
        scheme = value.split(":", 1)[0].lower() if isinstance(value, str) and ":" in value else ""
        if scheme not in schemes:
            self.add(
                path,
                "URL_TYPE_INVALID_SCHEME",
                f'Scheme "{scheme}" is not supported. Scheme must be one of {schemes}.',
            )

    def objects(self, path: Path, value: object) -> list[Mapping[str, Any]]:
        """The list of JSON objects at ``path`` (None: empty); a type error otherwise."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
            return []
        if not all(isinstance(item, dict) for item in value):
            self.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            return []
        return value

    def raise_if_any(self) -> None:
        """Raise the 50035 error if anything failed."""
        if self.tree:
            raise invalid_form_body(self.tree)


def validate_message(
    body: Mapping[str, Any], *, prefix: Path = (), partial: bool = False, files: int = 0
) -> None:
    """Check a message body (create or edit) against Discord's limits.

    ``prefix`` nests the errors (``("data",)`` for interaction callbacks); ``partial`` is for
    edits, which may leave every field out; ``files`` counts uploaded attachments.
    """
    errors = FormErrors(prefix)
    content = body.get("content")
    errors.max_length(("content",), content, MAX_CONTENT)
    embeds = errors.objects(("embeds",), body.get("embeds"))
    components = errors.objects(("components",), body.get("components"))
    _check_embeds(embeds, errors)
    _check_allowed_mentions(body.get("allowed_mentions"), errors)
    if not int(body.get("flags") or 0) & FLAG_COMPONENTS_V2:
        _check_components(components, errors)
    errors.raise_if_any()
    has_body = content or embeds or components or files or body.get("sticker_ids")
    if not partial and not has_body and not body.get("poll"):
        raise empty_message()


def _check_allowed_mentions(allowed: object, errors: FormErrors) -> None:
    """``parse`` kinds known, at most 100 ids per list, and ``parse: ["roles"]`` (or ``"users"``)
    not together with a ``roles`` (``users``) list: Discord refuses the pair."""
    if allowed is None:
        return
    at: Path = ("allowed_mentions",)
    if not isinstance(allowed, dict):
        errors.add(at, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return
    parse = allowed.get("parse") or []
    if not isinstance(parse, list):
        errors.add((*at, "parse"), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    for index, kind in enumerate(parse):
        if kind not in MENTION_KINDS:
            errors.add(
                (*at, "parse", index),
                "BASE_TYPE_CHOICES",
                f"Value must be one of {set(MENTION_KINDS)}.",
            )
    for kind in ("roles", "users"):
        ids = allowed.get(kind)
        errors.max_length((*at, kind), ids, MAX_ALLOWED_MENTION_IDS)
        if kind in parse and ids:
            errors.add(
                at,
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


def embed_text_length(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts toward the 6,000 limit for one embed."""
    author = embed.get("author") or {}
    footer = embed.get("footer") or {}
    texts = [embed.get("title"), embed.get("description"), author.get("name"), footer.get("text")]
    for field in embed.get("fields") or []:
        texts += [field.get("name"), field.get("value")]
    return sum(len(text) for text in texts if isinstance(text, str))


def _check_embeds(embeds: Sequence[Mapping[str, Any]], errors: FormErrors) -> None:
    errors.max_length(("embeds",), list(embeds), MAX_EMBEDS)
    for index, embed in enumerate(embeds):
        at: Path = ("embeds", index)
        errors.max_length((*at, "title"), embed.get("title"), MAX_EMBED_TITLE)
        errors.max_length((*at, "description"), embed.get("description"), MAX_EMBED_DESCRIPTION)
        errors.url((*at, "url"), embed.get("url"), attachments=False)
        for part in ("image", "thumbnail"):
            errors.url((*at, part, "url"), (embed.get(part) or {}).get("url"), attachments=True)
        author = embed.get("author") or {}
        if author:
            errors.required_text((*at, "author", "name"), author.get("name"), MAX_AUTHOR_NAME)
            errors.url((*at, "author", "url"), author.get("url"), attachments=False)
            errors.url((*at, "author", "icon_url"), author.get("icon_url"), attachments=True)
        footer = embed.get("footer") or {}
        if footer:
            errors.required_text((*at, "footer", "text"), footer.get("text"), MAX_FOOTER_TEXT)
            errors.url((*at, "footer", "icon_url"), footer.get("icon_url"), attachments=True)
        fields = errors.objects((*at, "fields"), embed.get("fields"))
        errors.max_length((*at, "fields"), fields, MAX_EMBED_FIELDS)
        for number, field in enumerate(fields):
            errors.required_text((*at, "fields", number, "name"), field.get("name"), MAX_FIELD_NAME)
            value = field.get("value")
            errors.required_text((*at, "fields", number, "value"), value, MAX_FIELD_VALUE)
    if sum(embed_text_length(embed) for embed in embeds) > MAX_EMBEDS_TOTAL:
        errors.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {MAX_EMBEDS_TOTAL}",
        )


def _check_components(rows: Sequence[Mapping[str, Any]], errors: FormErrors) -> None:
    errors.max_length(("components",), list(rows), MAX_ACTION_ROWS)
    seen: set[str] = set()
    for index, row in enumerate(rows):
        at: Path = ("components", index)
        if row.get("type") != ACTION_ROW:
            errors.add((*at, "type"), "UNION_TYPE_CHOICES", "Top-level components must be rows.")
            continue
        children = errors.objects((*at, "components"), row.get("components"))
        if not children:
            errors.add((*at, "components"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        errors.max_length((*at, "components"), children, MAX_ROW_COMPONENTS)
        for number, child in enumerate(children):
            where: Path = (*at, "components", number)
            kind = child.get("type")
            if kind in SELECT_TYPES and len(children) > 1:
                errors.add(
                    where,
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "A select menu must be alone in a row.",
                )
            if kind == BUTTON:
                errors.max_length((*where, "label"), child.get("label"), MAX_BUTTON_LABEL)
            elif kind in SELECT_TYPES:
                placeholder = child.get("placeholder")
                errors.max_length((*where, "placeholder"), placeholder, MAX_SELECT_PLACEHOLDER)
                errors.max_length((*where, "options"), child.get("options"), MAX_SELECT_OPTIONS)
            if kind == BUTTON and child.get("style") == LINK_BUTTON_STYLE:
                errors.url((*where, "url"), child.get("url"), attachments=False)
                continue
            if kind == BUTTON and child.get("style") == PREMIUM_BUTTON_STYLE:
                continue
            custom_id = child.get("custom_id")
            errors.required_text((*where, "custom_id"), custom_id, MAX_CUSTOM_ID)
            if isinstance(custom_id, str) and custom_id in seen:
                errors.add(
                    (*where, "custom_id"),
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    "Component custom id cannot be duplicated",
                )
            if isinstance(custom_id, str):
                seen.add(custom_id)


def validate_choices(data: Mapping[str, Any]) -> None:
    """Check an autocomplete result: at most 25 choices, names 1-100, string values <= 100."""
    errors = FormErrors(("data",))
    choices = errors.objects(("choices",), data.get("choices"))
    errors.max_length(("choices",), choices, MAX_CHOICES)
    for index, choice in enumerate(choices):
        errors.required_text(("choices", index, "name"), choice.get("name"), MAX_CHOICE_NAME)
        errors.max_length(("choices", index, "value"), choice.get("value"), MAX_CHOICE_VALUE)
    errors.raise_if_any()


def validate_commands(commands: Sequence[Mapping[str, Any]], *, global_scope: bool) -> None:
    """Check a bulk command overwrite: names, descriptions, option counts and order."""
    errors = FormErrors()
    if global_scope:
        errors.max_length((), list(commands), MAX_GLOBAL_COMMANDS)
    names: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        kind = int(command.get("type", 1))
        key = (kind, str(command.get("name")))
        if key in names:
            errors.add((index, "name"), "APPLICATION_COMMAND_NAME_ALREADY_EXISTS", "Duplicate name")
        names.add(key)
        _check_command_node((index,), command, errors, chat_input=kind == 1)
    errors.raise_if_any()


def _check_command_node(
    at: Path, node: Mapping[str, Any], errors: FormErrors, *, chat_input: bool
) -> None:
    name = node.get("name")
    if not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
        errors.add((*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if not chat_input:
        return
    description = node.get("description")
    errors.required_text((*at, "description"), description, MAX_COMMAND_DESCRIPTION)
    options = list(node.get("options") or [])
    errors.max_length((*at, "options"), options, MAX_COMMAND_OPTIONS)
    optional_seen = False
    for index, option in enumerate(options):
        where: Path = (*at, "options", index)
        required = bool(option.get("required"))
        if required and optional_seen:
            errors.add(
                where,
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            )
        optional_seen = optional_seen or (not required and option.get("type") not in (1, 2))
        errors.max_length((*where, "choices"), option.get("choices"), MAX_CHOICES)
        _check_command_node(where, option, errors, chat_input=True)
