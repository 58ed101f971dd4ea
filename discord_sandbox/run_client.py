"""Run an unmodified discord.py client against a sandbox, with a clean start and stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import discord
import discord.gateway
import discord.http
import yarl

from discord_sandbox.sandbox import Sandbox

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.asynccontextmanager
async def run_client(
    sandbox: Sandbox, client: ClientT, *, ready_timeout: float = 10.0, token: str | None = None
) -> AsyncIterator[ClientT]:
    """Log ``client`` into ``sandbox`` and yield it once ready; close it cleanly on exit.

    Points discord.py at the sandbox, runs ``client.start(sandbox.token)`` as a task and waits
    for ``on_ready`` (build the client with a small ``guild_ready_timeout``, e.g. 0.1, or this
    waits discord.py's default 2 s). On exit: ``await client.close()``, await the start task,
    restore the previous endpoints. A failure of the start task (``LoginFailure``, a crash while
    connected) is raised here. ``token`` overrides the sandbox's token (to test a wrong one).
    """
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    _point_discord_at(sandbox.api_base, yarl.URL(sandbox.gateway_url))
    try:
        async with client:
            start = asyncio.create_task(client.start(token or sandbox.token), name="sandbox-client")
            try:
                await _until_ready(client, start, ready_timeout)
                yield client
            finally:
                await client.close()
                await asyncio.wait({start})
                failure = None if start.cancelled() else start.exception()
            if failure is not None:
                raise failure
    finally:
        _point_discord_at(*saved)


async def _until_ready(client: discord.Client, start: asyncio.Task[None], limit: float) -> None:
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({start, ready}, timeout=limit, return_when="FIRST_COMPLETED")
    if ready in done:
        return
    ready.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await ready
    if start in done:
        start.result()
        raise RuntimeError("the client stopped before it was ready")
    raise TimeoutError(f"the client was not ready within {limit} s")


def _point_discord_at(api_base: str, gateway_url: yarl.URL) -> None:
    """Where discord.py sends REST calls and connects the gateway (two class attributes: the
    documented way to aim discord.py at a Discord-compatible server)."""
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway_url
