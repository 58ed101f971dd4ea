"""``ainews demo``: the real bot in the bundled Discord sandbox, with a short guided tour.

No token and no network: a Discord-compatible server starts on 127.0.0.1, the production bot logs
into it with the bundled sample corpus and a temporary database, and a member and an admin use it
as they would in Discord. Every answer is drawn in the terminal as a card.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from ainews.app import NewsBot
from ainews.settings import SAMPLE_CORPUS, Settings
from ainews.store.database import Database
from discord_sandbox import Permission, Sandbox
from discord_sandbox.interactions import InteractionResult
from discord_sandbox.run_client import run_client
from discord_sandbox.state import Guild

Json = dict[str, Any]
#: Channel names for rendering ``<#id>`` mentions (filled in when the tour creates channels).
CHANNELS: dict[int, str] = {}


def sandbox_settings(
    sandbox: Sandbox, guild: Guild, *, news_dir: Path, database_path: Path, **more: Any
) -> Settings:
    """Settings that point the bot at ``sandbox``, with its commands registered in ``guild``
    (the demo's, and the tests' and benchmarks' too)."""
    return Settings(
        discord_token=sandbox.token,
        discord_api_base=sandbox.api_base,
        discord_gateway_url=sandbox.gateway_url,
        news_dir=news_dir,
        database_path=database_path,
        command_guild_ids=(guild.id,),
        **more,
    )


class DemoClock:
    """The bot's clock in the demo: real time, until the tour moves it to the digest's hour."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


_TIMESTAMP = re.compile(r"<t:(\d+)(?::[tTdDfFR])?>")
_CHANNEL = re.compile(r"<#(\d+)>")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def discord_text(text: str, channel_names: dict[int, str] | None = None) -> Text:
    """Discord's markup as the client would show it: bold, timestamps, channel names, subtext."""
    names = channel_names or {}
    lines = []
    for line in text.split("\n"):
        subtext = line.startswith("-# ")
        line = escape(line.removeprefix("-# "))
        line = _TIMESTAMP.sub(
            lambda m: datetime.fromtimestamp(int(m[1]), UTC).strftime("%a %d %b %Y %H:%M UTC"),
            line,
        )
        line = _CHANNEL.sub(lambda m: f"[cyan]#{names.get(int(m[1]), m[1])}[/]", line)
        line = _BOLD.sub(r"[bold]\1[/bold]", line).replace("\\", "")
        lines.append(f"[dim]{line}[/dim]" if subtext else line)
    return Text.from_markup("\n".join(lines))


def render_card(embed: Json) -> Panel:
    """One embed as a terminal card: title, link, provider, date, excerpt, related, topics."""
    lines: list[Text] = [Text(embed.get("title", ""), style="bold")]
    if url := embed.get("url"):
        lines.append(Text(url, style=f"link {url} underline cyan"))
    byline = " · ".join(
        part
        for part in (embed.get("author", {}).get("name"), (embed.get("timestamp") or "")[:10])
        if part
    )
    if byline:
        lines.append(Text(byline, style="dim"))
    if description := embed.get("description"):
        lines.append(discord_text(description))
    for field in embed.get("fields", []):
        lines.append(Text(f"{field['name']}: {field['value']}", style="italic"))
    if footer := embed.get("footer", {}).get("text"):
        lines.append(Text(footer, style="magenta"))
    colour = f"#{embed['color']:06x}" if embed.get("color") else "white"
    return Panel(Group(*lines), border_style=colour, width=100)


def render_message(console: Console, who: str, content: str | None, embeds: Sequence[Json]) -> None:
    if content:
        console.print(Text(f"{who}: ", style="bold green") + discord_text(content, CHANNELS))
    for embed in embeds:
        console.print(render_card(embed))


def render_result(console: Console, result: InteractionResult) -> None:
    label = "bot (only you can see this)" if result.ephemeral else "bot"
    render_message(console, label, result.content, result.embeds)
    for followup in result.followups:
        if followup is not result.original:  # a deferral's first followup fills the original
            render_message(console, label, followup.content, followup.embeds)


async def settled(result: InteractionResult) -> InteractionResult:
    """``result`` once a deferred ("thinking…") answer has been filled in."""
    if result.original is not None and result.original.loading:
        await result.wait_for_deferred(within=10)
    return result


async def play_tour(console: Console, workdir: Path) -> None:
    clock = DemoClock()
    async with Sandbox() as sandbox:
        guild = sandbox.create_guild("AI Community")
        news = sandbox.create_channel(guild, "ai-news")
        CHANNELS[news.id] = news.name
        member = sandbox.add_member(guild, "ada")
        admin = sandbox.add_member(guild, "grace", permissions=Permission.MANAGE_GUILD)
        settings = sandbox_settings(
            sandbox, guild, news_dir=SAMPLE_CORPUS, database_path=workdir / "demo.sqlite3"
        )
        async with await Database.open(settings.database_path) as database:
            bot = NewsBot(
                settings=settings, database=database, clock=clock, guild_ready_timeout=0.1
            )
            async with run_client(sandbox, bot):
                await bot.corpus_ready.wait()

                async def step(
                    title: str, command: str, who: Any, options: Json
                ) -> InteractionResult:
                    console.print(Rule(f"[bold]{title}"))
                    console.print(
                        Text(f"{who.user.username}: /{command} ", style="bold blue")
                        + Text(" ".join(f"{k}:{v}" for k, v in options.items()))
                    )
                    result = await sandbox.invoke(
                        command, member=who, channel=news, options=options
                    )
                    render_result(console, await settled(result))
                    return result

                topics = await step("Which topics are there?", "topics", member, {})
                del topics
                await step("News on a topic", "news", member, {"topic": "AI Hardware", "count": 2})
                await step(
                    "News on another topic", "news", member, {"topic": "Robotics", "count": 2}
                )
                await step(
                    "Full-text search", "search", member, {"query": "robot laundry", "count": 1}
                )

                console.print(Rule("[bold]The “More” button"))
                message = sandbox.channel_messages(news)[0]
                console.print(
                    Text("ada clicks More under the AI Hardware cards", style="bold blue")
                )
                more = await sandbox.click(message, message.custom_ids()[0], member=member)
                render_result(console, await settled(more))

                subscribed = await step(
                    "An admin subscribes the channel to a daily digest",
                    "digest subscribe",
                    admin,
                    {
                        "topic": "Large Language Models",
                        "time": "09:00",
                        "timezone": "Europe/Paris",
                        "max_items": 3,
                    },
                )
                del subscribed
                console.print(Rule("[bold]The next morning at 09:00 in Paris"))
                digest = await bot.digests.get(news.id)
                assert digest is not None
                clock.offset = digest.next_run_at - datetime.now(UTC) + timedelta(seconds=1)
                before = len(sandbox.channel_messages(news))
                await bot.deliverer.run_due()
                for posted in sandbox.channel_messages(news)[before:]:
                    render_message(console, "bot (scheduled digest)", posted.content, posted.embeds)
    console.print(Rule())
    console.print(
        "That was the real bot, talking Discord's protocol to a local sandbox. "
        "Put it on your server: see README.md, “Run it on your Discord server”."
    )


def run_demo() -> int:
    logging.getLogger("discord").setLevel(logging.ERROR)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="ainews-demo-") as workdir:
        asyncio.run(play_tour(console, Path(workdir)))
    return 0
