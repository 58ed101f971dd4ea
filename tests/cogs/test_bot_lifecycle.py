"""The bot's life: start-up, command sync, corpus rescans, restarts, a wrong token, intents."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest
from aiohttp import web
from discord import app_commands

from ainews.__main__ import main
from ainews.app import NewsBot, run_bot
from ainews.cogs.corpus_watch import CorpusWatch, rescan_corpus
from ainews.discord_endpoints import current_discord_endpoints, point_discord_at
from ainews.settings import SAMPLE_CORPUS
from discord_sandbox.sandbox import Sandbox
from tests.helpers import CHECKOUT, NewsWorld, start_news_bot, write_article_file

OUR_COMMANDS = {"news", "latest", "topics", "search"}


def names(commands: list[dict]) -> set[str]:
    return {command["name"] for command in commands}


def titles(embeds: list[dict]) -> list[str]:
    return [embed["title"] for embed in embeds]


async def test_commands_are_synced_once_and_again_only_when_they_change(
    sandbox: Sandbox, world: NewsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with start_news_bot(sandbox, world.settings):
        pass
    assert sandbox.sync_count(world.guild) == 1
    assert sandbox.sync_count() == 0
    assert names(sandbox.registered_commands(world.guild)) >= OUR_COMMANDS

    async with start_news_bot(sandbox, world.settings):
        answer = await sandbox.invoke("topics", member=world.reader, channel=world.news)
        assert answer.embeds
    assert sandbox.sync_count(world.guild) == 1

    second = sandbox.create_guild("Second server")
    both = replace(world.settings, command_guild_ids=(world.guild.id, second.id))
    async with start_news_bot(sandbox, both):
        pass
    assert (sandbox.sync_count(world.guild), sandbox.sync_count(second)) == (2, 1)
    assert names(sandbox.registered_commands(second)) >= OUR_COMMANDS

    # A new release rewords /news (the extension is loaded afresh at every start, so the
    # change is made where every command is turned into its definition).
    to_dict = app_commands.Command.to_dict

    def reworded(command: app_commands.Command, tree: app_commands.CommandTree) -> dict:
        definition = to_dict(command, tree)
        if command.name == "news":
            definition["description"] = "Fresh AI news on one topic"
        return definition

    monkeypatch.setattr(app_commands.Command, "to_dict", reworded)
    async with start_news_bot(sandbox, both):
        pass
    assert (sandbox.sync_count(world.guild), sandbox.sync_count(second)) == (3, 2)
    (news,) = [c for c in sandbox.registered_commands(second) if c["name"] == "news"]
    assert news["description"] == "Fresh AI news on one topic"
    assert sandbox.sync_count() == 0


async def test_without_command_guild_ids_the_commands_are_synced_globally(
    sandbox: Sandbox, world: NewsWorld
) -> None:
    everywhere = replace(world.settings, command_guild_ids=())
    async with start_news_bot(sandbox, everywhere):
        assert sandbox.sync_count() == 1
        assert sandbox.sync_count(world.guild) == 0
        assert names(sandbox.registered_commands()) >= OUR_COMMANDS
        result = await sandbox.invoke(
            "news", member=world.reader, channel=world.news, options={"topic": "Robotics"}
        )
        assert not result.ephemeral and result.embeds


async def test_a_rescan_brings_new_changed_and_deleted_files_into_the_commands(
    sandbox: Sandbox, world: NewsWorld, corpus_dir: Path
) -> None:
    settings = replace(world.settings, news_rescan_seconds=17)
    async with start_news_bot(sandbox, settings) as bot:
        watch = bot.get_cog("CorpusWatch")
        assert watch is not None and type(watch).__name__ == CorpusWatch.__name__
        assert watch.rescan.is_running()
        assert watch.rescan.seconds == settings.news_rescan_seconds

        gone_title = "Orchard Compute switches new AI data centre to direct liquid cooling"
        hardware = {"topic": "AI Hardware", "count": 10, "include_seen": True}
        before = await sandbox.invoke(
            "news", member=world.reader, channel=world.other, options=hardware
        )
        assert gone_title in titles(before.embeds)
        typed = await sandbox.autocomplete(
            "news", focused="topic", value="quant", member=world.reader, channel=world.news
        )
        assert "Quantum Sensing" not in [choice["value"] for choice in typed.choices or []]

        write_article_file(
            corpus_dir,
            "diamond-quantum-sensors",
            title="Diamond quantum sensors read brain signals through the skull",
            topics=["Quantum Sensing", "AI Research"],
            publishedDateTime=datetime(2027, 1, 5, 8, 0, tzinfo=UTC),
        )
        changed = corpus_dir / "camera-trap-species-model.md"
        old_title = (
            "Open model identifies 1,200 species in camera-trap footage for conservation groups"
        )
        new_title = "Open model now tells apart 3,400 species in camera-trap footage"
        changed.write_text(
            changed.read_text(encoding="utf-8").replace(old_title, new_title), encoding="utf-8"
        )
        (corpus_dir / "orchard-compute-liquid-cooling.md").unlink()

        await rescan_corpus(bot)

        assert bot.last_rescan is not None
        report = bot.last_rescan
        assert (report.ingested, report.withdrawn, report.rejected) == (2, 1, [])
        typed = await sandbox.autocomplete(
            "news", focused="topic", value="quant", member=world.reader, channel=world.news
        )
        assert "Quantum Sensing" in [choice["value"] for choice in typed.choices or []]
        new = await sandbox.invoke(
            "news", member=world.reader, channel=world.news, options={"topic": "quantum sensing"}
        )
        assert titles(new.embeds) == [
            "Diamond quantum sensors read brain signals through the skull"
        ]
        renamed = await sandbox.invoke(
            "search", member=world.reader, channel=world.news, options={"query": "camera-trap"}
        )
        assert new_title in titles(renamed.embeds)
        assert not any(old_title in title for title in titles(renamed.embeds))
        after = await sandbox.invoke(
            "search", member=world.reader, channel=world.other, options={"query": "orchard"}
        )
        assert gone_title not in titles(after.embeds)
        hardware_now = await sandbox.invoke(
            "news", member=world.reader, channel=world.other, options=hardware
        )
        assert titles(hardware_now.embeds) == [t for t in titles(before.embeds) if t != gone_title]


async def test_a_restart_keeps_what_was_posted(sandbox: Sandbox, world: NewsWorld) -> None:
    async with start_news_bot(sandbox, world.settings) as bot:
        first = await sandbox.invoke(
            "news",
            member=world.reader,
            channel=world.news,
            options={"topic": "Microsoft AI", "count": 10},
        )
        async with bot.posting_locks.for_channel(world.news.id):  # recorded: a later restart
            pass
    assert first.embeds and not first.ephemeral

    async with start_news_bot(sandbox, world.settings):
        again = await sandbox.invoke(
            "news", member=world.reader, channel=world.news, options={"topic": "Microsoft AI"}
        )
        latest = await sandbox.invoke(
            "latest", member=world.reader, channel=world.news, options={"count": 10}
        )
    assert again.ephemeral and "caught up" in (again.content or "")
    assert f"{len(first.embeds)} articles were already posted" in (again.content or "")
    assert latest.embeds and not set(titles(latest.embeds)) & set(titles(first.embeds))


def test_run_without_a_token_exits_2_with_a_clear_message(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ainews: DISCORD_TOKEN is not set")
    assert "Traceback" not in err


async def test_a_wrong_token_fails_login_cleanly(sandbox: Sandbox, world: NewsWorld) -> None:
    wrong = replace(world.settings, discord_token=sandbox.token[:-4] + "nope")
    saved = current_discord_endpoints()
    try:
        async with asyncio.timeout(5):
            with pytest.raises(discord.LoginFailure):
                await run_bot(wrong)
    finally:
        point_discord_at(*saved)
    assert sandbox.counters.statuses[401] == 1  # tried once, not retried in a loop


def run_env(sandbox: Sandbox, world: NewsWorld, tmp_path: Path, **settings: str) -> dict[str, str]:
    """What ``ainews run`` needs to log into the sandbox, with ``settings`` on top."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": CHECKOUT,
        "DISCORD_TOKEN": sandbox.token,
        "DISCORD_API_BASE": sandbox.api_base,
        "DISCORD_GATEWAY_URL": sandbox.gateway_url,
        "NEWS_DIR": str(world.settings.news_dir),
        "DATABASE_PATH": str(tmp_path / "cli.sqlite3"),
        **settings,
    }


async def ainews_run_until_it_exits(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """``python -m ainews run``: its exit code and what it wrote to stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ainews",
        "run",
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(45):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert out == b""
    assert process.returncode is not None
    return process.returncode, err.decode()


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def last_line(err: str) -> str:
    lines = err.splitlines()
    assert lines, "nothing on stderr"
    return lines[-1]


@pytest.mark.slow
async def test_ainews_run_with_a_wrong_token_says_so_and_exits_2(
    sandbox: Sandbox, world: NewsWorld, tmp_path: Path
) -> None:
    env = run_env(sandbox, world, tmp_path, DISCORD_TOKEN=sandbox.token[:-4] + "nope")

    code, err = await ainews_run_until_it_exits(env, tmp_path)

    assert code == 2, err
    assert "ainews: " in err and "DISCORD_TOKEN" in err
    assert "Traceback" not in err
    assert env["DISCORD_TOKEN"] not in err


@pytest.mark.slow
async def test_ainews_run_with_discord_unreachable_names_the_url_and_exits_2(
    sandbox: Sandbox, world: NewsWorld, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{closed_port()}/api/v10"

    code, err = await ainews_run_until_it_exits(
        run_env(sandbox, world, tmp_path, DISCORD_API_BASE=base), tmp_path
    )

    assert code == 2, err
    assert last_line(err) == (
        f"ainews: cannot reach Discord's API at {base} (DISCORD_API_BASE): the connection was "
        "refused (nothing listens there, or a firewall rejects it)"
    )
    assert "Traceback" not in err
    assert len(err.splitlines()) <= 4, err


@pytest.mark.slow
async def test_ainews_run_warns_at_start_about_the_sample_corpus_and_a_readable_dotenv(
    sandbox: Sandbox, world: NewsWorld, tmp_path: Path
) -> None:
    env = run_env(sandbox, world, tmp_path, DISCORD_API_BASE=f"http://127.0.0.1:{closed_port()}/")
    del env["NEWS_DIR"]
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_LEVEL=INFO\n")
    dotenv.chmod(0o644)

    _, err = await ainews_run_until_it_exits(env, tmp_path)

    assert (
        "] [WARNING ] ainews: NEWS_DIR is not set: serving the bundled sample corpus of fictional "
        f"articles ({SAMPLE_CORPUS}); set NEWS_DIR to your corpus folder\n"
    ) in err
    assert (
        f"] [WARNING ] ainews: {dotenv} is readable by other users (mode 0644) and may hold the "
        f"bot token: chmod 600 {dotenv}\n"
    ) in err
    assert f"settings from the environment and {dotenv}\n" in err


@pytest.mark.slow
async def test_ainews_run_with_a_host_that_does_not_resolve_exits_2(
    sandbox: Sandbox, world: NewsWorld, tmp_path: Path
) -> None:
    base = "http://discord.ainews-test.invalid/api/v10"  # .invalid never resolves (RFC 6761)

    code, err = await ainews_run_until_it_exits(
        run_env(sandbox, world, tmp_path, DISCORD_API_BASE=base), tmp_path
    )

    assert code == 2, err
    line = last_line(err)
    assert line.startswith(f"ainews: cannot reach Discord's API at {base} (DISCORD_API_BASE): ")
    assert "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (404, "<html><body>Not here</body></html>", "answered the login with HTTP 404 Not Found"),
        (200, "<html><body>A web site</body></html>", "answered the login with something that"),
    ],
    ids=["404-page", "html-page"],
)
async def test_ainews_run_against_a_server_that_is_not_discord_exits_2(
    sandbox: Sandbox,
    world: NewsWorld,
    tmp_path: Path,
    status: int,
    body: str,
    said: str,
) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}/api/v10"
    try:
        code, err = await ainews_run_until_it_exits(
            run_env(sandbox, world, tmp_path, DISCORD_API_BASE=base), tmp_path
        )
    finally:
        await runner.cleanup()

    assert code == 2, err
    line = last_line(err)
    assert line.startswith(f"ainews: Discord's API at {base} (DISCORD_API_BASE) {said}")
    assert line.endswith("check that it is a Discord API (such as https://discord.com/api/v10)")
    assert "Traceback" not in err


@pytest.mark.slow
async def test_ainews_run_with_the_gateway_unreachable_names_it_and_exits_2(
    sandbox: Sandbox, world: NewsWorld, tmp_path: Path
) -> None:
    gateway = f"ws://127.0.0.1:{closed_port()}/"

    code, err = await ainews_run_until_it_exits(
        run_env(sandbox, world, tmp_path, DISCORD_GATEWAY_URL=gateway), tmp_path
    )

    assert code == 2, err
    assert last_line(err) == (
        f"ainews: cannot connect to Discord's gateway at {gateway} (DISCORD_GATEWAY_URL): the "
        "connection was refused (nothing listens there, or a firewall rejects it)"
    )
    assert "Traceback" not in err
    assert not sandbox.gateway.sessions


async def test_the_bot_asks_for_no_privileged_intents(news_bot: NewsBot) -> None:
    intents = news_bot.intents
    assert intents.guilds
    assert not intents.members
    assert not intents.presences
    assert not intents.message_content
    assert news_bot.is_ready()  # the sandbox grants no privileged intent, and it connected


@pytest.mark.slow
async def test_ainews_run_logs_one_ready_line_without_colours_or_voice_warnings(
    sandbox: Sandbox, world: NewsWorld, tmp_path: Path
) -> None:
    """Its log goes to a pipe here, as to a journal: no escape codes even in a container."""
    env = run_env(sandbox, world, tmp_path, COMMAND_GUILD_IDS=str(world.guild.id))
    second = sandbox.create_guild("Second server")
    sandbox.create_channel(second, "general")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ainews",
        "run",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not any(" ready as " in line for line in lines):
                line = await process.stderr.readline()
                assert line, "".join(lines)
                lines.append(line.decode())
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            _, rest = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = "".join(lines) + rest.decode()

    assert process.returncode == 0, log
    (ready,) = [line for line in lines if " ready as " in line]
    bot_name = sandbox.bot_user.username
    assert ready.rstrip().endswith(
        f"] [INFO    ] ainews.app: ready as {bot_name} in 2 servers (0 channels with digests)"
    )
    assert "\x1b[" not in log
    assert "voice" not in log
    assert "Traceback" not in log
    assert "ainews: starting ai-news-bot " in lines[0]
    assert (
        f"NEWS_DIR {world.settings.news_dir}, DATABASE_PATH {tmp_path / 'cli.sqlite3'}"
        in (lines[0])
    )
