"""The bot: one ``commands.Bot`` subclass holding the store, the settings and the clock.

Start-up follows discord.py's ``advanced_startup`` example: the database is opened by the caller
(``run_bot``) and handed in; ``setup_hook`` loads the feature extensions (each registers its own
commands, loops and persistent buttons) and syncs the slash commands, but only when their
definitions changed since the last sync.
The bot asks for no privileged intents (only ``guilds``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import signal
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands

from ainews.cards import NO_MENTIONS
from ainews.clock import Clock, utc_now
from ainews.delivery import DigestDeliverer
from ainews.discord_channels import DiscordChannels
from ainews.discord_endpoints import DiscordUnreachable, connection_failure, point_discord_at
from ainews.ingest import CorpusReport
from ainews.pacing import Pacer
from ainews.posting_locks import PostingLocks
from ainews.settings import Settings
from ainews.store.articles import ArticleRepository
from ainews.store.bot_state import BotState
from ainews.store.catalog import NewsCatalog
from ainews.store.database import Database
from ainews.store.digests import DigestRepository
from ainews.store.ledger import Ledger
from ainews.store.processes import ProcessRegistry
from ainews.tree import NewsCommandTree

log = logging.getLogger(__name__)

EXTENSIONS = (
    "ainews.cogs.deployment",
    "ainews.cogs.corpus_watch",
    "ainews.cogs.news",
    "ainews.cogs.digests",
    "ainews.cogs.status",
)
COMMAND_SYNC_KEY = "command_sync"
SHUTDOWN_GRACE_SECONDS = 10
#: How long the first gateway connection may take before start-up gives up on it.
GATEWAY_PROBE_SECONDS = 30


class NewsBot(commands.Bot):
    """The bot: discord.py's client plus what the features share (store, settings, clock)."""

    def __init__(
        self, *, settings: Settings, database: Database, clock: Clock = utc_now, **options: Any
    ) -> None:
        if settings.shards is not None and isinstance(self, commands.AutoShardedBot):
            options.setdefault("shard_count", settings.shards.count)
            options.setdefault("shard_ids", list(settings.shards.ids))
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents(guilds=True),
            tree_cls=NewsCommandTree,
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            **options,
        )
        self.settings = settings
        self.database = database
        self.clock = clock
        self.articles = ArticleRepository(database)
        self.catalog = NewsCatalog(database)
        self.ledger = Ledger(database)
        self.digests = DigestRepository(database)
        self.state = BotState(database)
        self.posting_locks = PostingLocks()
        #: This process among the deployment's (see ainews.cogs.deployment).
        self.processes = ProcessRegistry(
            database, settings.shards.describe() if settings.shards else "all"
        )
        self.deliverer = DigestDeliverer(
            digests=self.digests,
            catalog=self.catalog,
            channels=DiscordChannels(self),
            pacer=Pacer(),
            posting_locks=self.posting_locks,
            clock=clock,
            shards=settings.shards,
            process_id=self.processes.id,
        )
        #: Set once the first corpus scan has finished; commands work on what is indexed so far.
        self.corpus_ready = asyncio.Event()
        #: Set once the other live processes have taken their smaller share of the rate budget
        #: (ainews.cogs.deployment): digests go out from then on.
        self.rate_share_settled = asyncio.Event()
        self.last_rescan: CorpusReport | None = None
        self.last_rescan_at: datetime | None = None
        #: Why rescans of NEWS_DIR fail now, in one line; None while they work.
        self.rescan_problem: str | None = None
        #: Rescans run one at a time (the periodic one, those after changes, any other caller).
        self.rescan_lock = asyncio.Lock()
        #: Rescans run since start, whether they worked or not.
        self.rescan_count = 0

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands_if_changed()

    async def sync_commands_if_changed(self) -> bool:
        """Sync to COMMAND_GUILD_IDS (or globally) if the commands changed since the last sync.

        Once per deployment: processes starting together on one store take turns, and those
        after the first find the commands synced."""
        async with self.database.exclusive("command-sync", wait=True):
            return await self._sync_commands_if_changed()

    async def _sync_commands_if_changed(self) -> bool:
        guilds = [discord.Object(id=guild_id) for guild_id in self.settings.command_guild_ids]
        for guild in guilds:
            self.tree.copy_global_to(guild=guild)
        definitions = [command.to_dict(self.tree) for command in self.tree.get_commands()]
        fingerprint = hashlib.sha256(
            json.dumps(
                [self.application_id, [g.id for g in guilds], definitions], sort_keys=True
            ).encode()
        ).hexdigest()
        if await self.state.get(COMMAND_SYNC_KEY) == fingerprint:
            log.info("slash commands unchanged since the last sync; not syncing")
            return False
        targets: list[discord.Object | None] = [*guilds] or [None]
        failures = 0
        for target in targets:
            where = f"server {target.id}" if target else "all servers"
            try:
                synced = await self.tree.sync(guild=target)
            except discord.Forbidden:
                failures += 1
                log.error(
                    "cannot register slash commands in %s: the bot is not in it, or was invited "
                    "without the applications.commands scope (check COMMAND_GUILD_IDS)",
                    where,
                )
                continue
            log.info("synced %d slash commands to %s", len(synced), where)
        if not failures:
            await self.state.set(COMMAND_SYNC_KEY, fingerprint)
        return True

    async def shutdown(self) -> None:
        """Stop cleanly: no new deliveries, those under way get a grace period, then close.

        A delivery still unfinished after the grace period is left pending; the exactly-once
        recovery resolves it at the next start. A command that posted gets the same grace to
        record it in the ledger before the caller closes the database."""
        log.info("shutting down: no new deliveries; waiting for those under way")
        self.deliverer.stop_accepting()
        deadline = asyncio.get_running_loop().time() + SHUTDOWN_GRACE_SECONDS
        if not await self.deliverer.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.warning(
                "deliveries still under way after %d s; recovery will resolve them",
                SHUTDOWN_GRACE_SECONDS,
            )
        await self._postings_finished(deadline)
        await self.close()
        await self._postings_finished(deadline)

    async def _postings_finished(self, deadline: float) -> None:
        if not await self.posting_locks.wait_released(deadline):
            log.warning("a command was still posting at shutdown; it may not be recorded")


class ShardedNewsBot(NewsBot, commands.AutoShardedBot):
    """The bot over one gateway connection per shard it holds (SHARD_COUNT, SHARD_IDS, or
    without them as many as Discord recommends): discord.py's AutoShardedBot. It answers the
    interactions its shards receive and delivers the digests of their servers."""

    _gateway_reached = False

    async def launch_shards(self) -> None:
        """Without SHARD_COUNT, as many shards as Discord recommends (``GET /gateway/bot``),
        connected to DISCORD_GATEWAY_URL (discord.py would take the URL of that answer too)."""
        if self.shard_count is None:
            self.shard_count, _, _ = await self.http.get_bot_gateway()
        await super().launch_shards()

    async def launch_shard(
        self, gateway: yarl.URL, shard_id: int, *, initial: bool = False
    ) -> None:
        """discord.py retries a shard's connection every 5 s, forever: before the bot was first
        ready, a gateway that cannot be reached stops start-up instead (``run_bot`` listens for
        the disconnect), as the unsharded client's does."""
        if not self._gateway_reached and not self.is_ready():
            try:
                probe = await asyncio.wait_for(
                    self.http.ws_connect(str(gateway)), GATEWAY_PROBE_SECONDS
                )
            except Exception:
                self.dispatch("disconnect")
                return
            await probe.close()
            self._gateway_reached = True
        await super().launch_shard(gateway, shard_id, initial=initial)


def news_bot_class(settings: Settings) -> type[NewsBot]:
    """The bot ``ainews run`` runs: sharded, over SHARD_COUNT's shards (SHARD_IDS of them), or
    without SHARD_COUNT over as many as Discord recommends (``GET /gateway/bot``)."""
    del settings  # one class for every deployment; the settings choose its shards
    return ShardedNewsBot


async def run_bot(settings: Settings) -> None:
    """Run the bot until it is closed or gets SIGTERM/SIGINT: the database opened first and
    closed last. Discord unreachable at start (the REST login, or the gateway before the bot is
    first ready) raises :class:`DiscordUnreachable`, naming the URL and why; once the bot has
    been ready, discord.py reconnects by itself."""
    token = settings.require_token()
    point_discord_at(settings.discord_api_base, settings.discord_gateway_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    failures = _ConnectionFailures()
    try:
        async with (
            await Database.open(
                settings.database_location, pool_size=settings.database_pool_size
            ) as database,
            news_bot_class(settings)(
                settings=settings, database=database, http_trace=failures.trace
            ) as bot,
        ):

            async def on_disconnect() -> None:
                if not bot.is_ready():  # the gateway failed before the first READY: stop
                    failures.gateway_failed = True
                    stop.set()

            async def on_ready() -> None:
                await log_ready(bot)

            bot.add_listener(on_disconnect, "on_disconnect")
            bot.add_listener(on_ready, "on_ready")
            running = asyncio.create_task(bot.start(token), name="ainews-bot")
            stopping = asyncio.create_task(stop.wait(), name="ainews-stop-signal")
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.done():
                if not bot.is_ready():
                    # Stopped while starting (login, command sync, connecting): end the start
                    # there, rather than let it fail on the connection shutdown closes.
                    running.cancel()
                await bot.shutdown()
            else:
                stopping.cancel()
            await asyncio.wait({running})
            if failures.gateway_failed:
                raise DiscordUnreachable(
                    f"cannot connect to Discord's gateway at {settings.discord_gateway_url} "
                    f"(DISCORD_GATEWAY_URL): {failures.last_reason('no answer in time')}"
                )
            if not running.cancelled():
                _login_result(running, bot, settings)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped")


async def log_ready(bot: NewsBot) -> None:
    """One line once connected (again after a reconnect that starts a new session)."""
    counts = await bot.digests.status_counts()
    log.info(
        "ready as %s in %d servers (%d channels with digests)",
        bot.user,
        len(bot.guilds),
        counts.get("active", 0) + counts.get("failing", 0),
    )


class _ConnectionFailures:
    """Records the connections discord.py's HTTP session failed to make (through aiohttp's
    tracing, which discord.py accepts as ``http_trace``), for a reason when the gateway fails."""

    def __init__(self) -> None:
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_exception.append(self._failed)
        self.errors: list[BaseException] = []
        self.gateway_failed = False

    async def _failed(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        self.errors[:] = [params.exception]

    def last_reason(self, default: str) -> str:
        return connection_failure(self.errors[-1]) if self.errors else default


def _login_result(running: asyncio.Task[None], bot: NewsBot, settings: Settings) -> None:
    """``running``'s result, with what an unreachable or wrong DISCORD_API_BASE raises at login
    turned into one :class:`DiscordUnreachable` line."""
    where = f"Discord's API at {settings.discord_api_base} (DISCORD_API_BASE)"
    try:
        running.result()
    except (aiohttp.ClientConnectionError, OSError) as error:  # timeouts included
        raise DiscordUnreachable(f"cannot reach {where}: {connection_failure(error)}") from None
    except discord.HTTPException as error:
        if bot.user is not None:  # logged in: a failure of something else
            raise
        raise DiscordUnreachable(
            f"{where} answered the login with HTTP {error.status} {error.response.reason}: "
            "check that it is a Discord API (such as https://discord.com/api/v10)"
        ) from None
    except (TypeError, KeyError, ValueError):
        if bot.user is not None:
            raise
        raise DiscordUnreachable(
            f"{where} answered the login with something that is not Discord's answer: check that "
            "it is a Discord API (such as https://discord.com/api/v10)"
        ) from None
