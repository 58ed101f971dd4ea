"""Registered application commands, and turning "what the user typed" into interaction data.

Commands exist only once the bot synced them (``PUT .../commands``), as on Discord. Invoking goes
through the registered schema, never the bot's code: an option the bot's tree declares but never
synced cannot be sent, and values outside the declared choices, ranges or channel types are
refused, because Discord's client would not let a user send them.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from discord_sandbox.errors import SandboxUsageError
from discord_sandbox.permissions import Permission, as_payload
from discord_sandbox.state import Channel, Json, Member, Role, Snowflakes
from discord_sandbox.validation import validate_commands

OptionValue = str | int | float | bool | Channel | Role
"""What a test passes as an option: text, numbers, booleans, or a sandbox channel."""


class OptionType(enum.IntEnum):
    """Application command option types."""

    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


SUBCOMMANDS = (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)


class CommandRegistry:
    """Commands per scope: ``None`` for global, a guild id for guild commands."""

    def __init__(self, application_id: int, snowflakes: Snowflakes) -> None:
        self.application_id = application_id
        self._snowflakes = snowflakes
        self._scopes: dict[int | None, list[Json]] = {}
        self.syncs: Counter[int | None] = Counter()
        self._allowed: set[tuple[int, str, int]] = set()

    def overwrite(self, scope: int | None, commands: Sequence[Json]) -> list[Json]:
        """Bulk-overwrite a scope, keeping the ids of commands that stay (Discord does)."""
        validate_commands(commands, global_scope=scope is None)
        known = {(c["type"], c["name"]): c["id"] for c in self._scopes.get(scope, [])}
        stored = []
        for command in commands:
            kind = int(command.get("type", 1))
            entry: Json = {
                **command,
                "type": kind,
                "id": known.get((kind, command["name"])) or str(self._snowflakes.next()),
                "application_id": str(self.application_id),
                "version": str(self._snowflakes.next()),
                "description": command.get("description", ""),
            }
            permissions = command.get("default_member_permissions")
            if permissions is not None:
                entry["default_member_permissions"] = as_payload(int(permissions))
            if scope is not None:
                entry["guild_id"] = str(scope)
            stored.append(entry)
        self._scopes[scope] = stored
        self.syncs[scope] += 1
        return stored

    def commands(self, scope: int | None) -> list[Json]:
        """The commands registered in a scope."""
        return list(self._scopes.get(scope, []))

    def allow(self, guild_id: int, name: str, member_id: int) -> None:
        """A server admin's override (Server Settings > Integrations): the member may use
        ``/name`` in the guild whatever its default member permissions."""
        self._allowed.add((guild_id, name, member_id))

    def allowed_by_override(self, guild_id: int, name: str, member_id: int) -> bool:
        """Whether an override lets the member use ``/name`` in the guild."""
        return (guild_id, name, member_id) in self._allowed

    def find(self, name: str, guild_id: int) -> Json:
        """A chat-input command visible in the guild: guild commands first, then global."""
        for scope in (guild_id, None):
            for command in self._scopes.get(scope, []):
                if command["type"] == 1 and command["name"] == name:
                    return command
        raise SandboxUsageError(f"no synced slash command named {name!r} in this guild")


def check_member_may_use(command: Json, member: Member) -> None:
    """Refuse what Discord's client hides: a command whose default permissions exceed the member's.

    ``"0"`` means administrators only. (A server admin can override this in the guild's
    integration settings: :meth:`Sandbox.allow_command`.)
    """
    needed = command.get("default_member_permissions")
    if needed is None:
        return
    required, granted = int(needed), member.permissions
    if required & ~granted or (required == 0 and not granted & Permission.ADMINISTRATOR):
        raise SandboxUsageError(
            f"{member.user.username} lacks the default permissions of /{command['name']}"
        )


def build_command_data(
    command: Json,
    path: Sequence[str],
    options: Mapping[str, OptionValue],
    member: Member,
    *,
    focused: str | None = None,
) -> Json:
    """The ``data`` of an INTERACTION_CREATE for ``/command sub... option:value``.

    ``path`` holds the subcommand group and subcommand names after the command name. With
    ``focused`` (autocomplete) that option's value is the raw text typed so far and required
    options may still be missing.
    """
    node, chain = command, []
    for name in path:
        node = _find_option(node, name, subcommand=True)
        chain.append(node)
    if any(option["type"] in SUBCOMMANDS for option in node.get("options", [])):
        raise SandboxUsageError(f"/{command['name']} needs a subcommand, not {list(path)}")
    resolved: dict[str, dict[str, Json]] = {}
    values = [
        _option_value(_find_option(node, name, subcommand=False), value, member, resolved, focused)
        for name, value in options.items()
    ]
    if focused is None:
        declared = node.get("options", [])
        missing = [o["name"] for o in declared if o.get("required") and o["name"] not in options]
        if missing:
            raise SandboxUsageError(f"missing required options {missing}")
    elif focused not in options:
        raise SandboxUsageError(f"the focused option {focused!r} needs a value")
    for parent in reversed(chain):
        values = [{"name": parent["name"], "type": parent["type"], "options": values}]
    data: Json = {"id": command["id"], "name": command["name"], "type": 1, "options": values}
    if "guild_id" in command:
        data["guild_id"] = command["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data


def _find_option(node: Json, name: str, *, subcommand: bool) -> Json:
    option: Json
    for option in node.get("options", []):
        if option["name"] == name and (option["type"] in SUBCOMMANDS) == subcommand:
            return option
    kind = "subcommand" if subcommand else "option"
    raise SandboxUsageError(f"{node['name']!r} has no synced {kind} {name!r}")


def _option_value(
    option: Json,
    value: OptionValue,
    member: Member,
    resolved: dict[str, dict[str, Json]],
    focused: str | None,
) -> Json:
    name, kind = option["name"], OptionType(option["type"])
    if focused == name:
        if not option.get("autocomplete"):
            raise SandboxUsageError(f"option {name!r} was not synced with autocomplete")
        return {"name": name, "type": kind, "value": str(value), "focused": True}
    wire: Any
    if kind is OptionType.CHANNEL:
        wire = _channel_value(option, value, member, resolved.setdefault("channels", {}))
    elif kind is OptionType.ROLE:
        wire = _role_value(option, value, member, resolved.setdefault("roles", {}))
    elif kind is OptionType.BOOLEAN and isinstance(value, bool):
        wire = value
    elif kind is OptionType.STRING and isinstance(value, str):
        wire = value
        _check_range(name, len(value), option.get("min_length"), option.get("max_length"))
    elif _is_number(kind, value):
        assert isinstance(value, int | float)
        wire = value
        _check_range(name, value, option.get("min_value"), option.get("max_value"))
    else:
        raise SandboxUsageError(f"option {name!r} ({kind.name}) cannot take {value!r}")
    choices = option.get("choices")
    if choices and wire not in [choice["value"] for choice in choices]:
        raise SandboxUsageError(f"{wire!r} is not one of the choices of {name!r}")
    return {"name": name, "type": kind, "value": wire}


def _is_number(kind: OptionType, value: OptionValue) -> bool:
    if isinstance(value, bool):
        return False
    return (kind is OptionType.INTEGER and isinstance(value, int)) or (
        kind is OptionType.NUMBER and isinstance(value, int | float)
    )


def _check_range(name: str, value: float, low: float | None, high: float | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        raise SandboxUsageError(f"option {name!r} must be within [{low}, {high}], got {value}")


def _channel_value(
    option: Json, value: OptionValue, member: Member, resolved: dict[str, Json]
) -> str:
    if not isinstance(value, Channel):
        raise SandboxUsageError(f"option {option['name']!r} takes a sandbox Channel")
    if value.guild is not member.guild:
        raise SandboxUsageError(f"channel {value.name!r} is not in the member's guild")
    allowed = option.get("channel_types")
    if allowed and value.type not in allowed:
        raise SandboxUsageError(f"option {option['name']!r} does not accept {value.type.name}")
    # As Discord resolves it: the channel (a thread with its metadata and parent) and what the
    # member may do there.
    resolved[str(value.id)] = value.to_payload() | {"permissions": as_payload(member.permissions)}
    return str(value.id)


def _role_value(option: Json, value: OptionValue, member: Member, resolved: dict[str, Json]) -> str:
    if not isinstance(value, Role):
        raise SandboxUsageError(f"option {option['name']!r} takes a sandbox Role")
    if value is not member.guild.everyone and value not in member.guild.roles:
        raise SandboxUsageError(f"role {value.name!r} is not in the member's guild")
    resolved[str(value.id)] = value.to_payload()
    return str(value.id)
