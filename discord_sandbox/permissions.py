"""Discord permission bits the sandbox enforces or hands to the client.

Only the bits a news bot touches are named; the values are Discord's. Permissions travel as
decimal strings in payloads, so :func:`as_payload` is the one place that formats them.
"""

from __future__ import annotations

import enum


class Permission(enum.IntFlag):
    """A set of Discord permissions (combine with ``|``)."""

    NONE = 0
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38

    @classmethod
    def everyone_default(cls) -> Permission:
        """What ``@everyone`` may do in a new guild (and so a bot without extra roles)."""
        return (
            cls.VIEW_CHANNEL
            | cls.SEND_MESSAGES
            | cls.EMBED_LINKS
            | cls.ATTACH_FILES
            | cls.READ_MESSAGE_HISTORY
            | cls.ADD_REACTIONS
            | cls.USE_EXTERNAL_EMOJIS
            | cls.USE_APPLICATION_COMMANDS
            | cls.CREATE_PUBLIC_THREADS
            | cls.CREATE_PRIVATE_THREADS
            | cls.SEND_MESSAGES_IN_THREADS
        )


ALL_PERMISSIONS = (1 << 51) - 1
"""Every permission bit Discord currently defines, as Discord computes it for administrators."""


def effective(permissions: int) -> int:
    """Expand ``ADMINISTRATOR`` to every permission, as Discord does."""
    return ALL_PERMISSIONS if permissions & Permission.ADMINISTRATOR else permissions


def as_payload(permissions: int) -> str:
    """Permissions as Discord serialises them: a decimal string."""
    return str(int(permissions))
