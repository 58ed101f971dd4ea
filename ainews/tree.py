"""The command tree: one place that turns every command error into a clear, private answer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from ainews.cards import NO_MENTIONS
from ainews.store.database import StoreUnavailable

log = logging.getLogger(__name__)

#: Discord's code for an interaction answered too late (or already gone).
UNKNOWN_INTERACTION = 10062
UNEXPECTED_ERROR_REPLY = (
    "Sorry, something went wrong on our side. It has been logged; please try again in a moment."
)
STORE_UNAVAILABLE_REPLY = (
    "The news store is unavailable for a moment (its database is restarting or out of reach). "
    "Please try again in a minute."
)


class UserFacingError(app_commands.AppCommandError):
    """An expected problem with what the member asked; its message is shown to them as is."""


Interaction = discord.Interaction[commands.Bot]
#: A command not answered within this many seconds is deferred (Discord allows 3).
DEFER_AFTER_SECONDS = 1.5
#: An answer (or a part of one) must be sent within this long: a hung request must not hold
#: the channel's posting lock.
ANSWER_SECONDS = 30.0


class NewsCommandTree(app_commands.CommandTree[commands.Bot]):
    def __init__(self, client: commands.Bot, **options: Any) -> None:
        super().__init__(client, **options)
        #: See :func:`deferred_if_slow` (tests make it shorter).
        self.defer_after = DEFER_AFTER_SECONDS

    async def on_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, UserFacingError):
            reply = str(cause)
        elif isinstance(cause, app_commands.MissingPermissions):
            needed = ", ".join(p.replace("_", " ").title() for p in cause.missing_permissions)
            reply = f"You need the {needed} permission to use this command."
        elif isinstance(cause, app_commands.NoPrivateMessage):
            reply = "This command works in servers only."
        elif isinstance(cause, app_commands.CommandOnCooldown):
            reply = f"Slow down a little: try again in {cause.retry_after:.0f} s."
        elif isinstance(cause, app_commands.TransformerError | app_commands.CheckFailure):
            reply = str(cause)
        elif isinstance(cause, StoreUnavailable):
            log.warning("/%s: %s", _command_name(interaction), cause)
            reply = STORE_UNAVAILABLE_REPLY
        elif isinstance(cause, discord.NotFound) and cause.code == UNKNOWN_INTERACTION:
            log.warning("interaction %s expired before the bot answered it", interaction.id)
            return
        else:
            options = interaction.data.get("options") if interaction.data else None
            log.error(
                "/%s failed (options %r)", _command_name(interaction), options, exc_info=cause
            )
            reply = UNEXPECTED_ERROR_REPLY
        await reply_privately(interaction, reply)


def _command_name(interaction: Interaction) -> str:
    return interaction.command.qualified_name if interaction.command else "?"


def _response_lock(interaction: Interaction) -> asyncio.Lock:
    """One lock per interaction, so a deferral and the answer never both go out first."""
    lock = interaction.extras.get("response_lock")
    if lock is None:
        lock = interaction.extras["response_lock"] = asyncio.Lock()
    return lock


@asynccontextmanager
async def deferred_if_slow(interaction: Interaction, *, ephemeral: bool) -> AsyncIterator[None]:
    """Defer the interaction if the block has not answered within the tree's ``defer_after``
    seconds.

    Discord drops an interaction not answered within 3 s. A fast answer goes out directly; a
    slow one (a busy database, a channel whose posting lock is held) shows "thinking…" first
    and arrives as a followup (see :func:`send_answer`)."""
    lock = _response_lock(interaction)
    tree = interaction.client.tree
    delay = tree.defer_after if isinstance(tree, NewsCommandTree) else DEFER_AFTER_SECONDS

    async def defer_when_late() -> None:
        await asyncio.sleep(delay)
        async with lock:
            if not interaction.response.is_done():
                await interaction.response.defer(ephemeral=ephemeral, thinking=True)
                interaction.extras["deferred_publicly"] = not ephemeral

    deferral = asyncio.create_task(defer_when_late(), name=f"defer-{interaction.id}")
    try:
        yield
    finally:
        if lock.locked():  # the deferral is being sent: let it finish, never cut it in half
            await asyncio.wait({deferral})
        else:
            deferral.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await deferral


async def send_answer(interaction: Interaction, **message: Any) -> int | None:
    """Send a message as the interaction's answer (or a followup once answered or deferred);
    returns the message id Discord gave it."""
    async with _response_lock(interaction), asyncio.timeout(ANSWER_SECONDS):
        if interaction.response.is_done():
            return (await interaction.followup.send(wait=True, **message)).id
        return (await interaction.response.send_message(**message)).message_id


async def reply_privately(interaction: Interaction, text: str) -> None:
    """An ephemeral answer, as the first response or as a followup; never raises."""
    try:
        async with _response_lock(interaction):
            if interaction.extras.pop("deferred_publicly", False):
                # A followup would fill the public "thinking…" message: remove it instead.
                await interaction.delete_original_response()
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
    except discord.HTTPException as failure:
        log.warning("could not answer interaction %s: %s", interaction.id, failure)
