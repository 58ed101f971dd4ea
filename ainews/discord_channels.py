"""The Discord side of digest delivery: :class:`~ainews.delivery.DigestChannels` on discord.py.

It turns Discord's answers into the two outcomes delivery acts on: :class:`PostRefused` (403,
404 or another 4xx: not retried before the next scheduled run) and :class:`PostFailed` (a 5xx, a
timeout or a dropped connection: retried with backoff).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import discord

from ainews.cards import NO_MENTIONS
from ainews.delivery import PostedMessage, PostFailed, PostRefused

#: Discord's JSON error codes for a channel the bot cannot see, and a permission it lacks.
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013


class DiscordChannels:
    """Posts and reads channels through a logged-in discord.py client."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def send(
        self,
        channel_id: int,
        guild_id: int | None,
        *,
        content: str,
        embeds: Sequence[discord.Embed] = (),
        nonce: str | None = None,
        mention_role_id: int | None = None,
    ) -> int:
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        given_nonce: dict[str, Any] = {"nonce": nonce} if nonce is not None else {}
        async with _translated_errors():
            message = await channel.send(
                content=content,
                embeds=list(embeds),
                allowed_mentions=only_role(mention_role_id),
                **given_nonce,
            )
        return message.id

    async def own_recent_messages(
        self, channel_id: int, guild_id: int | None, limit: int
    ) -> list[PostedMessage]:
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        me = self.client.user
        found: list[PostedMessage] = []
        async with _translated_errors():
            async for message in channel.history(limit=limit):
                if me is not None and message.author.id == me.id:
                    found.append(PostedMessage(message.id, message.content))
        return found

    async def edit(
        self,
        channel_id: int,
        guild_id: int | None,
        message_id: int,
        *,
        embeds: Sequence[discord.Embed],
    ) -> None:
        channel = self.client.get_partial_messageable(channel_id, guild_id=guild_id)
        async with _translated_errors():
            await channel.get_partial_message(message_id).edit(
                embeds=list(embeds), allowed_mentions=NO_MENTIONS
            )

    def system_channel_id(self, guild_id: int) -> int | None:
        guild = self.client.get_guild(guild_id)
        return guild.system_channel.id if guild and guild.system_channel else None


@asynccontextmanager
async def _translated_errors() -> AsyncIterator[None]:
    try:
        yield
    except (discord.Forbidden, discord.NotFound) as error:
        raise PostRefused(refusal_reason(error)) from error
    except (discord.DiscordServerError, aiohttp.ClientError, TimeoutError) as error:
        raise PostFailed(f"Discord did not answer properly ({error})") from error
    except discord.HTTPException as error:  # a 400, a 429 without Via: retrying won't help
        raise PostRefused(refusal_reason(error)) from error


def only_role(role_id: int | None) -> discord.AllowedMentions:
    """Mentions that may ping ``role_id`` and nothing else (no one at all without a role)."""
    if role_id is None:
        return NO_MENTIONS
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False
    )


def refusal_reason(error: discord.HTTPException) -> str:
    """Why Discord refused, in words an admin can act on."""
    if error.code == MISSING_ACCESS:
        return "the bot cannot see that channel (it needs the View Channel permission)"
    if error.code == MISSING_PERMISSIONS:
        return (
            "the bot is missing a permission there "
            "(Send Messages, Embed Links or Read Message History)"
        )
    if isinstance(error, discord.NotFound):
        return "the channel no longer exists"
    return f"Discord refused the message ({error.status} {error.text or error.code})"
