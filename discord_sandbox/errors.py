"""Discord's error responses, and the error a test script gets for asking the impossible.

:class:`ApiError` is raised anywhere in the request path and turned into Discord's JSON error
shape by the server. Each constructor below is one error Discord really returns, with its status,
numeric code and message, so handlers read ``raise unknown_channel()``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error answered the way Discord answers it: ``{"code", "message"[, "errors"]}``."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def payload(self) -> dict[str, Any]:
        """The JSON body Discord sends with this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class SandboxUsageError(Exception):
    """A test script asked for something a real Discord user could not do.

    Examples: invoking a command that was never synced, passing an option the registered command
    does not declare, clicking a button that is not on the message.
    """


def unauthorized() -> ApiError:
    """401 for a missing or wrong bot token (counts toward the invalid-request ban)."""
    return ApiError(401, 0, "401: Unauthorized")


def unknown_channel() -> ApiError:
    """404 10003: the channel does not exist (or was deleted)."""
    return ApiError(404, 10003, "Unknown Channel")


def unknown_guild() -> ApiError:
    """404 10004: the guild does not exist."""
    return ApiError(404, 10004, "Unknown Guild")


def unknown_message() -> ApiError:
    """404 10008: the message does not exist or is not visible here."""
    return ApiError(404, 10008, "Unknown Message")


def unknown_webhook() -> ApiError:
    """404 10015: the interaction token has no message to follow up or edit yet."""
    return ApiError(404, 10015, "Unknown Webhook")


def unknown_interaction() -> ApiError:
    """404 10062: the interaction is unknown or its 3-second response window has passed."""
    return ApiError(404, 10062, "Unknown interaction")


def already_acknowledged() -> ApiError:
    """400 40060: a second initial response to the same interaction."""
    return ApiError(400, 40060, "Interaction has already been acknowledged.")


def invalid_webhook_token() -> ApiError:
    """401 50027: the interaction token expired (15 minutes)."""
    return ApiError(401, 50027, "Invalid Webhook Token")


def missing_access() -> ApiError:
    """403 50001: the bot cannot see the channel or is not in the guild."""
    return ApiError(403, 50001, "Missing Access")


def missing_permissions() -> ApiError:
    """403 50013: the bot sees the channel but lacks a permission the request needs."""
    return ApiError(403, 50013, "Missing Permissions")


def empty_message() -> ApiError:
    """400 50006: no content, embeds, components, files or stickers."""
    return ApiError(400, 50006, "Cannot send an empty message")


def invalid_json() -> ApiError:
    """400 50109: the body is not JSON."""
    return ApiError(400, 50109, "The request body contains invalid JSON.")


def invalid_form_body(errors: dict[str, Any]) -> ApiError:
    """400 50035 with Discord's nested ``errors`` tree."""
    return ApiError(400, 50035, "Invalid Form Body", errors)


def unknown_tag() -> ApiError:
    """400 10087: a forum post's ``applied_tags`` names a tag the forum does not have (Discord's
    answer is not documented; the sandbox refuses so that a wrong tag id is noticed)."""
    return ApiError(400, 10087, "Unknown Tag")


def already_crossposted() -> ApiError:
    """400 40033: the message was published already."""
    return ApiError(400, 40033, "This message has already been crossposted")


def cannot_send_in_forum() -> ApiError:
    """400 40058: a forum takes posts (``POST /channels/{id}/threads``), not messages."""
    return ApiError(400, 40058, "Cannot send a message in a forum channel")


def tag_required() -> ApiError:
    """400 40067: a forum with REQUIRE_TAG refuses a post without a tag."""
    return ApiError(400, 40067, "A tag is required to create a forum post in this channel")


def wrong_channel_type() -> ApiError:
    """400 50024: e.g. crossposting outside an announcement channel."""
    return ApiError(400, 50024, "Cannot execute action on this channel type")


def archived_thread() -> ApiError:
    """400 50083: an operation on an archived thread (editing a message in it), or posting in a
    locked thread without Manage Threads, which Discord answers with this code too
    (discord/discord-api-docs#6884)."""
    return ApiError(400, 50083, "Thread is archived")
