"""The running bot and its corpus folder: files it must not read, and (with file-system
notifications) changes picked up within seconds, through the sandbox."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from ainews.cogs.corpus_watch import rescan_corpus
from discord_sandbox.sandbox import Sandbox
from tests.helpers import NewsWorld, start_news_bot


def rejections_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("rejected ")]


async def test_a_fifo_in_news_dir_is_logged_once_and_counted_in_status(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ainews")
    pipe = corpus_dir / "pipe.md"
    os.mkfifo(pipe)
    async with start_news_bot(sandbox, world.settings) as bot:
        await rescan_corpus(bot)
        await rescan_corpus(bot)

        assert rejections_logged(caplog) == [
            f"rejected {pipe}: not a regular file but a named pipe (FIFO): skipped"
        ]
        assert bot.last_rescan is not None and len(bot.last_rescan.rejected) == 1
        status = await sandbox.invoke("status", member=world.admin, channel=world.news)
        assert "1 rejected" in str(status.embeds[0])
        latest = await sandbox.invoke("latest", member=world.reader, channel=world.news)
        assert latest.embeds, "the other articles are served"
