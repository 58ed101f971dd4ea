"""Logging: discord.py's format and colours for everything, and no secret in any line.

``ainews run`` logs through discord.py's own setup (one format for the bot and the library) at
LOG_LEVEL. A filter on the handler removes the bot token and interaction/webhook tokens (they
appear at DEBUG level in request URLs and in the gateway events discord.py logs whole) from every
record before it is written.
"""

from __future__ import annotations

import logging
import re

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


def setup_logging(level: int, token: str | None) -> None:
    """discord.py's handler on the root logger at ``level``, with secrets redacted."""
    discord.utils.setup_logging(level=level, root=True)
    redactor = SecretRedactor([token] if token else [])
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
