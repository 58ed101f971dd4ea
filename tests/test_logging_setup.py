"""No secret in any log line: the bot token, interaction and webhook tokens are redacted.

Unit tests drive :class:`SecretRedactor` through a real handler and formatter; the end-to-end
test runs the production bot against the sandbox with ``setup_logging(DEBUG, token)`` (discord.py
logs every request URL and every gateway event at DEBUG) and reads what the handler wrote.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ainews.demo import sandbox_settings
from ainews.logging_setup import (
    REDACTED,
    ExpectedConditions,
    SecretRedactor,
    setup_logging,
    wants_colour,
)
from ainews.settings import SAMPLE_CORPUS
from discord_sandbox import Permission
from discord_sandbox.sandbox import Sandbox
from tests.helpers import start_news_bot

BOT_TOKEN = "MTA4OTk5ODg3NjU0MzIxMA.GabcDE.k3yb0ardC4tW4lk3dOnTh1sT0k3nPl34s3xyz"
INTERACTION_TOKEN = (
    "aW50ZXJhY3Rpb246MTA4OTk5ODg3NjU0MzIxMDpYWVpzZWNyZXRpbnRlcmFjdGlvbnRva2Vu"
    "MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6"
)


@pytest.fixture
def redacted_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose one handler has the redactor and a formatter, writing to a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretRedactor([BOT_TOKEN]))
    logger = logging.getLogger("tests.logging_setup.redacted")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, buffer
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def test_the_bot_token_is_removed_from_the_message_and_from_args(redacted_log) -> None:
    logger, buffer = redacted_log
    logger.info(f"logging in with {BOT_TOKEN}")
    logger.info("Authorization: Bot %s (attempt %d)", BOT_TOKEN, 2)

    lines = buffer.getvalue().splitlines()
    assert lines == [
        f"INFO tests.logging_setup.redacted: logging in with {REDACTED}",
        f"INFO tests.logging_setup.redacted: Authorization: Bot {REDACTED} (attempt 2)",
    ]


def test_the_bot_token_is_removed_from_exception_text(redacted_log) -> None:
    logger, buffer = redacted_log
    try:
        raise RuntimeError(f"login refused for {BOT_TOKEN}")
    except RuntimeError:
        logger.exception("could not start")

    text = buffer.getvalue()
    assert BOT_TOKEN not in text
    assert f"RuntimeError: login refused for {REDACTED}" in text
    assert "Traceback (most recent call last)" in text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f"POST https://discord.com/api/v10/webhooks/1089998876543210/{INTERACTION_TOKEN}"
            " with {} has returned 200",
            f"POST https://discord.com/api/v10/webhooks/1089998876543210/{REDACTED}"
            " with {} has returned 200",
        ),
        (
            f"PATCH /api/v10/webhooks/1089998876543210/{INTERACTION_TOKEN}/messages/@original",
            f"PATCH /api/v10/webhooks/1089998876543210/{REDACTED}/messages/@original",
        ),
        (
            "POST /api/v10/interactions/1234567890/abcdefghijklmnopqrstuvwxyz_0123-456/callback",
            f"POST /api/v10/interactions/1234567890/{REDACTED}/callback",
        ),
    ],
    ids=["webhook", "webhook-message", "interaction-callback"],
)
def test_interaction_and_webhook_tokens_are_removed_from_urls(
    redacted_log, line: str, expected: str
) -> None:
    logger, buffer = redacted_log
    logger.debug("%s", line)
    assert buffer.getvalue() == f"DEBUG tests.logging_setup.redacted: {expected}\n"


def test_an_interaction_token_in_a_gateway_event_is_removed() -> None:
    """discord.py logs every gateway event's payload at DEBUG, interaction token included."""
    event = {
        "t": "INTERACTION_CREATE",
        "op": 0,
        "d": {"id": "1234567890", "type": 2, "token": INTERACTION_TOKEN, "version": 1},
    }
    record = logging.LogRecord(
        "discord.gateway", logging.DEBUG, __file__, 1, "WebSocket Event: %s", (event,), None
    )
    SecretRedactor([BOT_TOKEN]).filter(record)

    message = record.getMessage()
    assert INTERACTION_TOKEN not in message
    assert f"'token': '{REDACTED}'" in message
    assert "'t': 'INTERACTION_CREATE'" in message


@pytest.mark.parametrize(
    "line",
    [
        "GET /api/v10/channels/1234567890/messages?limit=50 has returned 200",
        "POST /api/v10/webhooks/1234567890/short has returned 404",
        "synced 5 slash commands to server 1089998876543210",
        "a token bucket refills slowly; webhooks and interactions are fine words",
    ],
)
def test_ordinary_text_is_left_alone_with_its_args(line: str) -> None:
    record = logging.LogRecord(
        "discord.http", logging.INFO, __file__, 1, "%s (%d)", (line, 7), None
    )
    SecretRedactor([BOT_TOKEN]).filter(record)
    assert (record.msg, record.args) == ("%s (%d)", (line, 7))
    assert record.getMessage() == f"{line} (7)"


def test_an_empty_secret_redacts_nothing() -> None:
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "plain words", None, None)
    SecretRedactor(["", BOT_TOKEN]).filter(record)
    assert record.getMessage() == "plain words"


# -- end to end: the production handler while the bot answers /news --------------------------


@pytest.fixture
def production_logging() -> Iterator[io.StringIO]:
    """``setup_logging(DEBUG, ...)`` is called by the test; afterwards everything it added to
    the root logger is removed and the root level restored. Yields the handler's stream."""
    root = logging.getLogger()
    handlers_before, level_before = list(root.handlers), root.level
    filters_before = {handler: list(handler.filters) for handler in handlers_before}
    buffer = io.StringIO()
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            if handler not in handlers_before:
                root.removeHandler(handler)
        for handler, filters in filters_before.items():
            handler.filters[:] = filters
        root.setLevel(level_before)


async def test_no_token_in_any_debug_line_while_the_bot_answers(
    sandbox: Sandbox, tmp_path: Path, production_logging: io.StringIO
) -> None:
    guild = sandbox.create_guild("Log Check")
    news = sandbox.create_channel(guild, "news")
    reader = sandbox.add_member(guild, "reader", permissions=Permission.NONE)
    settings = sandbox_settings(
        sandbox,
        guild,
        news_dir=SAMPLE_CORPUS,
        database_path=tmp_path / "ainews.sqlite3",
        log_level="DEBUG",
    )
    root = logging.getLogger()
    before = set(root.handlers)
    setup_logging(logging.DEBUG, settings.discord_token)
    (added,) = [handler for handler in root.handlers if handler not in before]
    assert isinstance(added, logging.StreamHandler)
    added.setStream(production_logging)

    async with start_news_bot(sandbox, settings):
        result = await sandbox.invoke(
            "news", member=reader, channel=news, options={"topic": "AI Hardware", "count": 2}
        )
        assert result.responded and len(result.embeds) == 2

    log = production_logging.getvalue()
    # The lines that would carry the tokens were written, redacted.
    assert "INTERACTION_CREATE" in log
    assert f"/interactions/{result.id}/{REDACTED}/callback" in log
    assert sandbox.token not in log
    assert result.token not in log
    # Nor any recognisable piece of them (a token split or re-encoded by a formatter).
    assert sandbox.token.rsplit(".", 1)[-1] not in log
    assert result.token[:24] not in log


# -- expected conditions: one line, or none --------------------------------------------------


def filtered(record: logging.LogRecord) -> str | None:
    """What the production handler writes for ``record`` (None: dropped)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ExpectedConditions())
    handler.addFilter(SecretRedactor([BOT_TOKEN]))
    handler.handle(record)
    return buffer.getvalue() or None


@pytest.mark.parametrize(
    "message",
    [
        "PyNaCl is not installed, voice will NOT be supported",
        "davey is not installed, voice will NOT be supported",
    ],
)
def test_voice_warnings_are_dropped(message: str) -> None:
    record = logging.LogRecord("discord.client", logging.WARNING, __file__, 1, message, None, None)

    assert filtered(record) is None


def test_a_lost_gateway_connection_is_one_line_with_its_reason() -> None:
    try:
        raise ConnectionResetError(104, "Connection reset by peer")
    except ConnectionResetError:
        record = logging.LogRecord(
            "discord.client",
            logging.ERROR,
            __file__,
            1,
            "Attempting a reconnect in %.2fs",
            (1.5,),
            sys.exc_info(),
        )

    assert filtered(record) == (
        "WARNING discord.client: gateway connection failed (ConnectionResetError: [Errno 104] "
        "Connection reset by peer); Attempting a reconnect in 1.50s\n"
    )


def test_other_records_keep_their_traceback() -> None:
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        record = logging.LogRecord(
            "discord.client", logging.ERROR, __file__, 1, "Ignoring exception", None, sys.exc_info()
        )

    text = filtered(record)
    assert text is not None and "Traceback (most recent call last)" in text


@pytest.mark.parametrize(
    ("tty", "no_colour", "expected"),
    [(True, None, True), (True, "1", False), (False, None, False)],
    ids=["terminal", "terminal-NO_COLOR", "pipe"],
)
def test_colours_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, tty: bool, no_colour: str | None, expected: bool
) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    if no_colour is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_colour)

    assert wants_colour(Stream()) is expected


def test_a_log_to_a_pipe_has_no_escape_codes(production_logging: io.StringIO) -> None:
    root = logging.getLogger()
    before = set(root.handlers)
    setup_logging(logging.INFO, None)
    (added,) = [handler for handler in root.handlers if handler not in before]
    assert isinstance(added, logging.StreamHandler)
    added.setStream(production_logging)  # a StringIO: not a terminal

    logging.getLogger("ainews.test").warning("plain words")

    line = production_logging.getvalue()
    assert "\x1b[" not in line
    assert line.endswith("] [WARNING ] ainews.test: plain words\n")
