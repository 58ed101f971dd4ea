"""``ainews demo``: the real bot in the bundled Discord sandbox, with a short guided tour.

No token and no network: a Discord-compatible server starts on 127.0.0.1, the production bot logs
into it with the bundled sample corpus and a temporary database, and a member and an admin use it
as they would in Discord. Every answer is drawn in the terminal as a Discord client lays it out:
a message's content, then its embeds as cards, with Discord's markup rendered (timestamps in the
viewer's local time and relative to the bot's clock, masked links as their text and host).
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console, Group
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
#: The demo's first line.
SANDBOX_NOTE = "A local sandbox on 127.0.0.1 stands in for Discord: no token, no network."


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


#: Discord's inline markdown as the bot writes it: an escaped character, a timestamp, a channel
#: mention, a masked link, bold, inline code.
_INLINE = re.compile(
    r"\\(?P<escaped>[^0-9A-Za-z\s])"
    r"|<t:(?P<unix>-?\d{1,14})(?::(?P<style>[tTdDfFR]))?>"
    r"|<#(?P<channel>\d+)>"
    r"|\[(?P<label>(?:\\.|[^\\\]])+)\]\((?P<target>https?://[^\s)]+)\)"
    r"|\*\*(?P<bold>(?:\\.|[^\\*])+)\*\*"
    r"|`(?P<code>[^`\n]+)`"
)
_ZERO_WIDTH_SPACE = "\u200b"
#: Discord's own thresholds for relative times (moment.js's): up to 44 s is "a few seconds",
#: up to 89 s "a minute", and so on.
_SECOND, _MINUTE, _HOUR, _DAY = 1, 60, 3_600, 86_400


@dataclass(frozen=True)
class Screen:
    """What messages are drawn against, as a Discord client draws them: the moment the viewer
    looks, the viewer's timezone (None: this machine's), and the channel names it knows."""

    now: datetime
    tz: tzinfo | None = None
    channels: Mapping[int, str] = field(default_factory=dict)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)


def relative_time(moment: datetime, now: datetime) -> str:
    """``moment`` as Discord's ``<t:…:R>`` shows it: "in 5 minutes", "2 hours ago"."""
    seconds = (moment - now).total_seconds()
    size = abs(seconds)
    if size < 45 * _SECOND:
        phrase = "a few seconds"
    elif size < 90 * _SECOND:
        phrase = "a minute"
    elif size < 45 * _MINUTE:
        phrase = f"{round(size / _MINUTE)} minutes"
    elif size < 90 * _MINUTE:
        phrase = "an hour"
    elif size < 22 * _HOUR:
        phrase = f"{round(size / _HOUR)} hours"
    elif size < 36 * _HOUR:
        phrase = "a day"
    elif size < 26 * _DAY:
        phrase = f"{round(size / _DAY)} days"
    elif size < 45 * _DAY:
        phrase = "a month"
    elif size < 320 * _DAY:
        phrase = f"{max(2, round(size / (30.44 * _DAY)))} months"
    elif size < 548 * _DAY:
        phrase = "a year"
    else:
        phrase = f"{round(size / (365.25 * _DAY))} years"
    return f"in {phrase}" if seconds > 0 else f"{phrase} ago"


def discord_timestamp(unix: int, style: str, screen: Screen) -> str:
    """``<t:unix:style>`` as a Discord client shows it: the viewer's local date and time (24-hour,
    with the zone's name), or for ``R`` the time relative to ``screen.now``."""
    moment = datetime.fromtimestamp(unix, UTC)
    if style == "R":
        return relative_time(moment, screen.now)
    local = screen.local(moment)
    date = f"{local.day} {local:%B %Y}"
    formats = {
        "t": f"{local:%H:%M} {local.tzname()}",
        "T": f"{local:%H:%M:%S} {local.tzname()}",
        "d": f"{local:%Y-%m-%d}",
        "D": date,
        "f": f"{date} {local:%H:%M} {local.tzname()}",
        "F": f"{local:%A} {date} {local:%H:%M} {local.tzname()}",
    }
    return formats[style]


def discord_text(text: str, screen: Screen) -> Text:
    """Discord's markdown as its client shows it: bold, inline code, masked links, escapes,
    timestamps, channel names, and ``-#`` subtext lines."""
    shown = Text()
    for number, line in enumerate(text.split("\n")):
        if number:
            shown.append("\n")
        subtext = line.startswith("-# ")
        shown.append_text(_inline(line.removeprefix("-# "), screen, "dim" if subtext else ""))
    return shown


def _inline(text: str, screen: Screen, style: str = "") -> Text:
    shown = Text(style=style)
    position = 0
    for match in _INLINE.finditer(text):
        shown.append(text[position : match.start()].replace(_ZERO_WIDTH_SPACE, ""))
        position = match.end()
        if match["escaped"] is not None:
            shown.append(match["escaped"])
        elif match["unix"] is not None:
            try:
                moment = discord_timestamp(int(match["unix"]), match["style"] or "f", screen)
            except (OverflowError, OSError, ValueError):  # beyond what datetime holds
                moment = match[0]
            shown.append(moment, style="bold")
        elif match["channel"] is not None:
            name = screen.channels.get(int(match["channel"]), match["channel"])
            shown.append(f"#{name}", style="cyan")
        elif match["label"] is not None:
            target = match["target"]
            label = _inline(match["label"], screen, f"link {target} underline cyan")
            host = (urlsplit(target).hostname or "").removeprefix("www.")
            shown.append_text(label)
            shown.append(f" ({host})", style="dim")
        elif match["bold"] is not None:
            shown.append_text(_inline(match["bold"], screen, "bold"))
        else:
            shown.append(match["code"], style="bold on grey23")
    shown.append(text[position:].replace(_ZERO_WIDTH_SPACE, ""))
    return shown


def render_card(embed: Json, screen: Screen) -> Panel:
    """One embed as a terminal card: title, link, provider, date, excerpt, related, topics."""
    lines: list[Text] = [_inline(embed.get("title", ""), screen, "bold")]
    if url := embed.get("url"):
        lines.append(Text(url, style=f"link {url} underline cyan"))
    byline = " · ".join(
        part for part in (embed.get("author", {}).get("name"), _embed_date(embed, screen)) if part
    )
    if byline:
        lines.append(Text(byline, style="dim"))
    if description := embed.get("description"):
        lines.append(discord_text(description, screen))
    for embed_field in embed.get("fields", []):
        line = _inline(embed_field["name"], screen, "italic")
        line.append(": ", style="italic")
        lines.append(line + discord_text(embed_field["value"], screen))
    if footer := embed.get("footer", {}).get("text"):
        lines.append(Text(footer, style="magenta"))
    colour = f"#{embed['color']:06x}" if embed.get("color") else "white"
    return Panel(Group(*lines), border_style=colour, width=100)


def _embed_date(embed: Json, screen: Screen) -> str:
    """The embed's timestamp as the viewer's local date (Discord shows it in local time)."""
    timestamp = embed.get("timestamp") or ""
    try:
        return screen.local(datetime.fromisoformat(timestamp)).date().isoformat()
    except ValueError:
        return timestamp[:10]


def message_lines(
    who: str, content: str | None, embeds: Sequence[Json], screen: Screen
) -> list[Text | Panel]:
    """A message as Discord lays it out: its content (every line of it), then its embeds."""
    shown: list[Text | Panel] = []
    if content:
        shown.append(Text(f"{who}: ", style="bold green") + discord_text(content, screen))
    shown.extend(render_card(embed, screen) for embed in embeds)
    return shown


def render_message(
    console: Console, who: str, content: str | None, embeds: Sequence[Json], screen: Screen
) -> None:
    for line in message_lines(who, content, embeds, screen):
        console.print(line)


def render_result(console: Console, result: InteractionResult, screen: Screen) -> None:
    label = "bot (only you can see this)" if result.ephemeral else "bot"
    render_message(console, label, result.content, result.embeds, screen)
    for followup in result.followups:
        if followup is not result.original:  # a deferral's first followup fills the original
            render_message(console, label, followup.content, followup.embeds, screen)


async def settled(result: InteractionResult) -> InteractionResult:
    """``result`` once a deferred ("thinking…") answer has been filled in."""
    if result.original is not None and result.original.loading:
        await result.wait_for_deferred(within=10)
    return result


async def play_tour(console: Console, workdir: Path) -> None:
    console.print(Text(SANDBOX_NOTE, style="bold"))
    clock = DemoClock()
    channels: dict[int, str] = {}

    def screen() -> Screen:
        """What the viewer sees now, by the bot's clock, in this machine's timezone."""
        return Screen(clock(), channels=channels)

    async with Sandbox() as sandbox:
        guild = sandbox.create_guild("AI Community")
        news = sandbox.create_channel(guild, "ai-news")
        channels[news.id] = news.name
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
                        Text(f"{who.user.username}: /{command}", style="bold blue")
                        + Text("".join(f" {k}:{v}" for k, v in options.items()))
                    )
                    result = await sandbox.invoke(
                        command, member=who, channel=news, options=options
                    )
                    render_result(console, await settled(result), screen())
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
                render_result(console, await settled(more), screen())

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
                    render_message(
                        console,
                        "bot (scheduled digest)",
                        posted.content,
                        posted.embeds,
                        screen(),
                    )
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
