"""Point discord.py at Discord or at any Discord-compatible server (our sandbox included).

discord.py keeps the REST base and the gateway URL in two class attributes. They are not public
API, so this module is the one place that touches them; it is called once at start-up from the
settings (``DISCORD_API_BASE``, ``DISCORD_GATEWAY_URL``).
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl


def point_discord_at(api_base: str, gateway_url: str) -> None:
    """Send every REST call to ``api_base`` and connect the gateway to ``gateway_url``."""
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def current_discord_endpoints() -> tuple[str, str]:
    """The REST base and gateway URL discord.py will use now."""
    return discord.http.Route.BASE, str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
