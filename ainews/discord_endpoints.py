"""Point discord.py at Discord or at any Discord-compatible server (our sandbox included).

discord.py keeps the REST base and the gateway URL in two class attributes. They are not public
API, so this module is the one place that touches them; it is called once at start-up from the
settings (``DISCORD_API_BASE``, ``DISCORD_GATEWAY_URL``). When they cannot be reached at start,
:class:`DiscordUnreachable` says so in one line, with :func:`connection_failure`'s reason.
"""

from __future__ import annotations

import aiohttp
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


class DiscordUnreachable(Exception):
    """Discord (the REST base or the gateway) cannot be reached, or is not Discord, at start.

    The message names the URL, the setting that chose it and why, in one line."""


def connection_failure(error: BaseException) -> str:
    """Why a connection failed, in words an operator can act on (one line, no traceback)."""
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return f"its host name does not resolve ({error.os_error.strerror or error.os_error})"
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return f"its TLS certificate is not valid ({error.certificate_error})"
    if isinstance(error, aiohttp.ClientConnectorError):
        if isinstance(error.os_error, ConnectionRefusedError):
            return "the connection was refused (nothing listens there, or a firewall rejects it)"
        return f"cannot connect to {error.host}:{error.port} ({error.os_error.strerror or error})"
    if isinstance(error, TimeoutError):
        return "no answer in time (a firewall dropping the connection, or no network)"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
