"""Who a message pings, read the way Discord reads it, and the pings a test did not ask for.

Discord parses mentions in a message's ``content`` only (never in embeds): ``<@id>`` and
``<@!id>`` (users), ``<@&id>`` (roles; ``<@&guild id>`` is ``@everyone``), ``@everyone`` and
``@here``. ``allowed_mentions`` then filters them: absent, everything parsed may ping;
``parse: [...]`` lets the listed kinds (``users``, ``roles``, ``everyone``) ping; ``users: [...]``
and ``roles: [...]`` let only those ids ping. Of what is let through, a role pings only when it is
mentionable or the author has Mention Everyone in the channel, and ``@everyone``/``@here`` only
with Mention Everyone.

Three sets per message: :func:`written` (what the content mentions), :func:`permitted` (what the
body's ``allowed_mentions`` lets ping: the message body's responsibility, whatever the server's
settings are today) and :func:`pinged` (who was notified, given the roles' ``mentionable`` flags
and the author's permissions). A *violation* is anything permitted that the test did not declare
with ``Sandbox.expect_pings``: a body that would ping more than asked, even if it happened not to
(the role was not mentionable today).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from discord_sandbox.state import Message

_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(?:everyone|here)")

PARSE_KINDS = ("roles", "users", "everyone")


@dataclass(frozen=True)
class Mentions:
    """A set of mention targets: user ids, role ids, and ``@everyone``/``@here``."""

    users: frozenset[int] = frozenset()
    roles: frozenset[int] = frozenset()
    everyone: bool = False

    def __bool__(self) -> bool:
        return bool(self.users or self.roles or self.everyone)

    def __sub__(self, other: Mentions) -> Mentions:
        return Mentions(
            self.users - other.users,
            self.roles - other.roles,
            self.everyone and not other.everyone,
        )

    def __or__(self, other: Mentions) -> Mentions:
        return Mentions(
            self.users | other.users, self.roles | other.roles, self.everyone or other.everyone
        )

    def __and__(self, other: Mentions) -> Mentions:
        return Mentions(
            self.users & other.users, self.roles & other.roles, self.everyone and other.everyone
        )

    def describe(self) -> str:
        """``<@1>, <@&2>, @everyone``: the targets as mentions."""
        parts = [f"<@{user}>" for user in sorted(self.users)]
        parts += [f"<@&{role}>" for role in sorted(self.roles)]
        if self.everyone:
            parts.append("@everyone")
        return ", ".join(parts) or "nobody"


NOBODY = Mentions()


def written(content: str, guild_id: int) -> Mentions:
    """What ``content`` mentions (``<@&guild_id>`` is the ``@everyone`` role)."""
    roles = {int(found) for found in _ROLE.findall(content)}
    return Mentions(
        frozenset(int(found) for found in _USER.findall(content)),
        frozenset(roles - {guild_id}),
        bool(_EVERYONE.search(content)) or guild_id in roles,
    )


def _ids(values: Iterable[Any]) -> frozenset[int]:
    return frozenset(int(value) for value in values if str(value).isdigit())


def permitted(mentions: Mentions, allowed: Mapping[str, Any] | None) -> Mentions:
    """What of ``mentions`` the body's ``allowed_mentions`` lets ping (None: everything)."""
    if allowed is None:
        return mentions
    parse = set(allowed.get("parse") or [])
    users, roles = mentions.users, mentions.roles
    if "users" not in parse:
        users &= _ids(allowed.get("users") or [])
    if "roles" not in parse:
        roles &= _ids(allowed.get("roles") or [])
    return Mentions(users, roles, mentions.everyone and "everyone" in parse)


def pinged(
    mentions: Mentions, *, members: Iterable[int], mentionable_roles: Iterable[int], may_all: bool
) -> Mentions:
    """Who ``mentions`` (already permitted) notifies: members of the guild, the mentionable roles
    (every role when the author ``may_all``, i.e. has Mention Everyone), ``@everyone`` only when
    ``may_all``."""
    roles = mentions.roles & frozenset(mentionable_roles)
    return Mentions(mentions.users & frozenset(members), roles, mentions.everyone and may_all)


@dataclass(frozen=True)
class MentionViolation:
    """A message whose body let ``unexpected`` ping although the test did not expect them."""

    message: Message
    unexpected: Mentions

    def __str__(self) -> str:
        where = f"#{self.message.channel.name}"
        return (
            f"message {self.message.id} in {where} lets {self.unexpected.describe()} ping "
            f"(allowed_mentions={self.message.allowed_mentions!r}, "
            f"content={self.message.content[:80]!r})"
        )
