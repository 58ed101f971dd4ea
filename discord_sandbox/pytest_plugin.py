"""pytest fixtures for the sandbox, registered as the ``discord_sandbox`` pytest plugin.

Installing ``ai-news-bot`` registers this module through a ``pytest11`` entry point, so any test
run in that environment has the fixtures without importing anything. They need pytest-asyncio
(in the ``dev`` extra); without it the plugin defines nothing, so a production install that
happens to have pytest is not broken by it.

Fixtures:

- ``sandbox_config``: the :class:`SandboxConfig` the sandbox starts with (Discord's real numbers).
  Override it in a conftest or module, or per test with
  ``@pytest.mark.parametrize("sandbox_config", [SandboxConfig(interaction_deadline=0.3)])``.
- ``sandbox``: a started :class:`Sandbox`, stopped after the test. The test fails if the sandbox
  itself raised (see ``Counters.internal_errors``), or if the bot sent a message whose body let
  someone ping whom the test did not declare with ``sandbox.expect_pings(...)`` (see
  ``Counters.mention_violations``).

A bot fixture builds on them with :func:`run_client`, which shuts down in the right order
(``client.close()``, the start task, then the fixture stops the server)::

    @pytest_asyncio.fixture
    async def running_bot(sandbox: Sandbox) -> AsyncIterator[MyBot]:
        guild = sandbox.create_guild("AI News")  # before login: in READY; after: a guild join
        bot = MyBot(..., guild_ready_timeout=0.1)  # not discord.py's 2 s wait
        async with run_client(sandbox, bot):
            yield bot

discord.py pauses 5 s before every re-IDENTIFY (``Client.before_identify_hook``); a bot
used in tests of invalid sessions may override that documented hook to return at once.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator

import pytest

from discord_sandbox.config import SandboxConfig
from discord_sandbox.sandbox import Sandbox

__all__ = ["raise_for_problems", "sandbox", "sandbox_config"]


def raise_for_problems(sandbox: Sandbox) -> None:
    """What the ``sandbox`` fixture checks after a test: that the sandbox did not fail
    internally (RuntimeError) and that no message could ping more than the test expected
    (AssertionError listing them)."""
    counters = sandbox.counters
    if counters.internal_errors:
        first = counters.internal_errors[0]
        count = len(counters.internal_errors)
        raise RuntimeError(f"the sandbox failed internally {count} time(s)") from first
    if counters.mention_violations:
        listed = "\n".join(f"  {violation}" for violation in counters.mention_violations)
        raise AssertionError(
            "the bot sent messages that could ping more than the test expected "
            f"(declare expected pings with sandbox.expect_pings):\n{listed}"
        )


if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest.fixture
    def sandbox_config() -> SandboxConfig:
        """The configuration the ``sandbox`` fixture starts with: Discord's real numbers."""
        return SandboxConfig()

    @pytest_asyncio.fixture
    async def sandbox(sandbox_config: SandboxConfig) -> AsyncIterator[Sandbox]:
        """A started sandbox, stopped after the test (after any ``run_client`` block closed)."""
        async with Sandbox(sandbox_config) as running:
            yield running
        raise_for_problems(running)
