"""The command tree: one place that turns every command error into a clear, private answer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.cards import NO_MENTIONS

if TYPE_CHECKING:
    from bot.app import NewsBot

log = logging.getLogger(__name__)

UNEXPECTED_ERROR_REPLY = (
    "Sorry, something went wrong on our side. It has been logged; please try again in a moment."
)


class UserFacingError(app_commands.AppCommandError):
    """An expected problem with what the member asked; its message is shown to them as is."""


class NewsCommandTree(app_commands.CommandTree["NewsBot"]):
    async def on_error(
        self, interaction: discord.Interaction[NewsBot], error: app_commands.AppCommandError
    ) -> None:
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
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            options = interaction.data.get("options") if interaction.data else None
            log.error("/%s failed (options %r)", command, options, exc_info=cause)
            reply = UNEXPECTED_ERROR_REPLY
        await reply_privately(interaction, reply)


async def reply_privately(interaction: discord.Interaction[NewsBot], text: str) -> None:
    """An ephemeral answer, as the first response or as a followup; never raises."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException as failure:
        log.warning("could not answer interaction %s: %s", interaction.id, failure)
