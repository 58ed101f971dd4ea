"""Logging: discord.py's format for everything, colours on a terminal only, no secret in any line.

``ainews run`` logs through discord.py's own setup (one format for the bot and the library) at
LOG_LEVEL, to stderr. Colours only when stderr is a terminal and NO_COLOR is not set (discord.py
also colours for any process in a container, so a journal or a log file would get escape codes).
Filters on the handler:

- :class:`SecretRedactor` removes the bot token and interaction/webhook tokens (they appear at
  DEBUG level in request URLs and in the gateway events discord.py logs whole) from every record;
- :class:`ExpectedConditions` drops discord.py's warnings about voice support, which this bot
  never uses, and turns the traceback of a lost gateway connection (discord.py reconnects by
  itself) into its one-line reason.
"""

from __future__ import annotations

import logging
import os
import re
import sys

import discord

REDACTED = "[redacted]"
_URL_TOKENS = re.compile(r"(/(?:webhooks|interactions)/\d+/)[\w.-]{20,}")
#: A ``token`` field in a logged payload, e.g. INTERACTION_CREATE's ``'token': '...'``.
_PAYLOAD_TOKENS = re.compile(r"""(['"]token['"]\s*:\s*)(['"])[^'"]+\2""")


class SecretRedactor(logging.Filter):
    """Replaces known secrets and URL-borne tokens in log records."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _PAYLOAD_TOKENS.sub(rf"\1\2{REDACTED}\2", text)
        return _URL_TOKENS.sub(rf"\1{REDACTED}", text)


#: discord.py's format without colours (what it uses when it decides a stream has none).
PLAIN_FORMAT = "[{asctime}] [{levelname:<8}] {name}: {message}"
#: discord.py's warnings about optional voice libraries: this bot never joins a voice channel.
_VOICE_WARNINGS = ("PyNaCl is not installed", "davey is not installed")
_RECONNECT = "Attempting a reconnect in"


class ExpectedConditions(logging.Filter):
    """Quiet for what the bot does not use, one line for what it handles."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("discord."):
            return True
        message = record.getMessage()
        if message.startswith(_VOICE_WARNINGS):
            return False
        if message.startswith(_RECONNECT) and record.exc_info and record.exc_info[1]:
            error = record.exc_info[1]
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            record.msg, record.args = f"gateway connection failed ({reason}); {message}", None
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def wants_colour(stream: object) -> bool:
    """Colours for a terminal, unless NO_COLOR (https://no-color.org) is set."""
    isatty = getattr(stream, "isatty", None)
    return bool(callable(isatty) and isatty()) and not os.environ.get("NO_COLOR")


def setup_logging(level: int, token: str | None) -> None:
    """discord.py's handler on the root logger at ``level``, writing to stderr, with secrets
    redacted and expected conditions in one line."""
    handler = logging.StreamHandler(sys.stderr)
    if wants_colour(handler.stream):
        discord.utils.setup_logging(handler=handler, level=level, root=True)
    else:
        plain = logging.Formatter(PLAIN_FORMAT, "%Y-%m-%d %H:%M:%S", style="{")
        discord.utils.setup_logging(handler=handler, formatter=plain, level=level, root=True)
    handler.addFilter(ExpectedConditions())
    handler.addFilter(SecretRedactor([token] if token else []))
