"""/status for admins: is the bot healthy, and what is it working from?"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from ainews import __version__
from ainews.clock import utc_now
from ainews.cogs.deployment import Deployment

if TYPE_CHECKING:
    from ainews.app import NewsBot

Interaction = discord.Interaction["NewsBot"]


class StatusCommands(commands.Cog):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.started = time.monotonic()

    @app_commands.command(name="status", description="The bot's health: corpus, rescans, digests")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def status(self, interaction: Interaction) -> None:
        bot = self.bot
        embed = discord.Embed(title="AI news bot status", colour=discord.Colour.blurple())
        count = await bot.articles.count_active()
        newest = await bot.catalog.newest(topics=None, channel_id=None, limit=1)
        corpus = f"{count} articles in {len(await bot.catalog.topics())} topics"
        if newest:
            article = newest[0].article
            when = (
                discord.utils.format_dt(article.published_at, "D") if article.published_at else ""
            )
            corpus += f"\nNewest: {discord.utils.escape_markdown(article.title[:200])} {when}"
        if bot.settings.uses_sample_corpus:
            corpus = (
                "⚠️ **The bundled sample corpus** (fictional articles): NEWS_DIR is not set. "
                f"Set it to your corpus folder and restart the bot.\n{corpus}"
            )
        embed.add_field(name="Corpus", value=corpus[:1024], inline=False)
        report = bot.last_rescan
        rescan = (
            f"{discord.utils.format_dt(bot.last_rescan_at, 'R')}: {report.ingested} ingested, "
            f"{report.withdrawn} withdrawn, {len(report.rejected)} rejected "
            f"file{'' if len(report.rejected) == 1 else 's'}"
            if report and bot.last_rescan_at
            else "not finished yet"
        )
        problem = bot.rescan_problem
        if problem:
            rescan = (
                f"⚠️ **Failing**: {discord.utils.escape_markdown(str(problem)[:600])}. The "
                f"articles indexed before are still served.\nLast that worked: {rescan}"
            )
        embed.add_field(name="Last rescan", value=rescan[:1024], inline=False)
        counts = await bot.digests.status_counts()
        next_due = await bot.digests.next_due_at()
        digests = (
            f"{counts.get('active', 0)} active, {counts.get('failing', 0)} failing, "
            f"{counts.get('inactive', 0)} inactive"
        )
        if next_due:
            digests += f"\nNext digest: {discord.utils.format_dt(next_due, 'R')}"
        embed.add_field(name="Digests", value=digests, inline=False)
        store = "PostgreSQL" if bot.database.engine == "postgresql" else "SQLite"
        embed.add_field(name="Store", value=store, inline=False)
        embed.add_field(name="Processes", value=self._processes()[:1024], inline=False)
        uptime = int(time.monotonic() - self.started)
        embed.set_footer(
            text=f"ai-news-bot {__version__} · up {uptime // 3600}h {uptime // 60 % 60}m"
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    def _processes(self) -> str:
        """Every live process of the deployment: its shards, last heartbeat and uptime."""
        deployment = self.bot.get_cog("Deployment")
        live = deployment.live if isinstance(deployment, Deployment) else []
        me = deployment.registry.id if isinstance(deployment, Deployment) else None
        now = utc_now()
        lines = []
        for process in live[:20]:
            up = int((now - process.started_at).total_seconds())
            beat = discord.utils.format_dt(process.heartbeat_at, "R")
            this = " (this one)" if process.id == me else ""
            lines.append(
                f"shards {process.shards} · beat {beat} · up {up // 3600}h {up // 60 % 60}m{this}"
            )
        if len(live) > 20:
            lines.append(f"… and {len(live) - 20} more")
        return "\n".join(lines) or "none recorded yet"


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(StatusCommands(bot))
