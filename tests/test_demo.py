"""``ainews demo``: the guided tour runs offline, quickly, and leaves nothing behind.

It runs as a user would start it: ``python -m ainews demo`` in an empty folder, with no Discord
settings, and a ``sitecustomize`` that refuses (and records) any connection or name lookup that is
not loopback, so "no network" is checked, not assumed.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from rich.console import Console

import ainews.tree
from ainews.cards import article_embed
from ainews.corpus.article import Article, Provider, RelatedCoverage
from ainews.demo import (
    SANDBOX_NOTE,
    Screen,
    discord_text,
    message_lines,
    play_tour,
    relative_time,
    render_card,
)
from ainews.digest import compose_digest, part_embeds, with_marker
from ainews.settings import SAMPLE_CORPUS
from ainews.store.catalog import StoredArticle
from tests.helpers import CHECKOUT

DEMO_WITHIN = 15.0

#: Loaded by every Python started with this folder on PYTHONPATH: loopback only.
NETWORK_GUARD = """
import os
import socket

_LOG = os.environ["AINEWS_TEST_NETWORK_LOG"]


def _loopback(host):
    return host is None or host in ("localhost", "::1") or str(host).startswith("127.")


def _refuse(what):
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(what + "\\n")
    raise OSError(f"test network guard: refused {what}")


_connect, _connect_ex, _getaddrinfo = (
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
)


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        _refuse(f"connect {address!r}")
    return _connect(self, address)


def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        _refuse(f"connect {address!r}")
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if not _loopback(host.decode() if isinstance(host, bytes) else host):
        _refuse(f"lookup {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.getaddrinfo = getaddrinfo
"""


def provider_names() -> set[str]:
    names = set()
    for path in SAMPLE_CORPUS.glob("*.md"):
        front_matter = path.read_text(encoding="utf-8").split("---", 2)[1]
        provider = yaml.safe_load(front_matter).get("provider") or {}
        if provider.get("name"):
            names.add(provider["name"])
    return names


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """No Discord settings; HOME, TMPDIR and the working folder empty; the network guard on."""
    for name in ("home", "tmp", "cwd", "guard"):
        (tmp_path / name).mkdir()
    (tmp_path / "guard" / "sitecustomize.py").write_text(NETWORK_GUARD, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "guard"), CHECKOUT]),
        "AINEWS_TEST_NETWORK_LOG": str(tmp_path / "network.log"),
        "COLUMNS": "120",
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
    }
    assert not any(name.startswith("DISCORD_") for name in env)
    return env


@pytest.mark.slow
def test_the_network_guard_refuses_other_hosts(offline_env: dict[str, str], tmp_path) -> None:
    """The guard the demo test relies on does load, and does refuse."""
    script = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 9), timeout=1)\n"
        "except OSError as error:\n"
        "    print(error)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path / "cwd",
        env=offline_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "test network guard: refused" in run.stdout, run.stderr
    log = Path(offline_env["AINEWS_TEST_NETWORK_LOG"]).read_text(encoding="utf-8")
    assert "192.0.2.1" in log


@pytest.mark.slow
def test_demo_tours_the_bot_offline_and_leaves_nothing_behind(
    offline_env: dict[str, str], tmp_path: Path
) -> None:
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "ainews", "demo"],
        cwd=tmp_path / "cwd",
        env=offline_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    took = time.monotonic() - started

    assert run.returncode == 0, run.stderr
    assert took < DEMO_WITHIN
    assert run.stderr == ""
    out = run.stdout
    assert out.splitlines()[0] == SANDBOX_NOTE  # said first, on one line

    # The tour, in order: each step as the member or admin typed it.
    steps = [
        "ada: /topics",
        "ada: /news topic:AI Hardware count:2",
        "ada: /news topic:Robotics count:2",
        "ada: /search query:robot laundry count:1",
        "ada clicks More under the AI Hardware cards",
        "grace: /digest subscribe topic:Large Language Models",
        "The next morning at 09:00 in Paris",
        "bot (scheduled digest): AI news digest",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    assert "now gets Large Language Models in its" in out  # the admin's confirmation

    # Cards: links to the corpus's (example) sites and their providers, digest cards included.
    links = re.findall(r"https://[\w.-]+\.example\.(?:com|net|org)/\S+", out)
    assert len(links) >= 8
    assert {name for name in provider_names() if name in out}
    digest = out[positions[-1] :]
    assert digest.count("╭") >= 1  # at least one card under the scheduled digest
    assert "Large Language Models" in digest
    assert re.search(r"https://[\w.-]+\.example\.(?:com|net|org)/", digest)
    assert digest.index("+") < digest.index("digest ref") < digest.index("╭")  # content, cards

    # Discord's markup drawn as Discord draws it: no raw links, timestamps or code marks.
    assert "Also covered by: " in out
    assert not re.search(r"\]\(https?:|<t:\d+|`", out)
    assert re.search(r"Next: \w+day \d+ \w+ \d{4} \d\d:\d\d \S+ \(in [\w ]+\)", out)

    # Nothing written where it was run, in HOME, or left in TMPDIR; no network used.
    assert list((tmp_path / "cwd").iterdir()) == []
    assert list((tmp_path / "home").iterdir()) == []
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "network.log").exists()


@pytest.mark.slow
def test_demo_runs_in_a_folder_whose_env_file_is_broken(
    offline_env: dict[str, str], tmp_path: Path
) -> None:
    """The demo needs no settings, so a bad ``.env`` where it is run does not stop it."""
    env_file = tmp_path / "cwd" / ".env"
    env_file.write_text("LOG_LEVEL=loud\nNEWS_RESCAN_SECONDS=often\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "ainews", "demo"],
        cwd=tmp_path / "cwd",
        env=offline_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "bot (scheduled digest): AI news digest" in run.stdout
    assert list((tmp_path / "cwd").iterdir()) == [env_file]


async def test_the_tour_waits_for_answers_that_were_deferred(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On a slow machine the bot shows "thinking…" first; the tour shows the answer, not that."""
    monkeypatch.setattr(ainews.tree, "DEFER_AFTER_SECONDS", 0.0)  # every answer is deferred
    output = io.StringIO()
    async with asyncio.timeout(30):
        await play_tour(Console(file=output, width=120), tmp_path)
    out = output.getvalue()

    sections = re.split(r"─{3,} ", out)
    answers = {
        "News on a topic": 2,
        "News on another topic": 2,
        "Full-text search": 1,
        "The “More” button": 2,
    }
    for title, cards in answers.items():
        (section,) = [s for s in sections if s.startswith(title)]
        assert section.count("╭") == cards, section
    assert "now gets Large Language Models in its" in out
    assert list(tmp_path.iterdir()) == [tmp_path / "demo.sqlite3"]  # its database, in workdir


@pytest.mark.parametrize("after_lines", [1, 40], ids=["at-the-start", "mid-tour"])
def test_ctrl_c_in_the_demo_is_one_line_and_exit_130(
    offline_env: dict[str, str], tmp_path: Path, after_lines: int
) -> None:
    """Ctrl-C reaches every process of the command (the terminal sends it to the group)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ainews", "demo"],
        cwd=tmp_path / "cwd",
        env=offline_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        for _ in range(after_lines):
            assert process.stdout.readline(), "the demo ended before it was interrupted"
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 130, err.decode()
    assert err.decode() == "ainews: interrupted\n"
    assert list((tmp_path / "tmp").iterdir()) == [], "its temporary folder removed"


PARIS = ZoneInfo("Europe/Paris")
#: Thursday 3 December 2026, 12:00 UTC (13:00 in Paris).
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def shown(renderable: object, width: int = 100) -> str:
    """What the terminal shows of ``renderable``."""
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def test_timestamps_show_the_viewers_local_time_and_the_time_from_now() -> None:
    screen = Screen(NOW, tz=PARIS)
    next_run = unix(datetime(2026, 12, 4, 8, 0, tzinfo=UTC))  # 09:00 in Paris
    text = discord_text(f"Next: <t:{next_run}:F> (<t:{next_run}:R>).", screen)
    assert text.plain == "Next: Friday 4 December 2026 09:00 CET (in 20 hours)."

    summer = unix(datetime(2026, 7, 14, 6, 30, 15, tzinfo=UTC))
    styles = {
        "t": "08:30 CEST",
        "T": "08:30:15 CEST",
        "d": "2026-07-14",
        "D": "14 July 2026",
        "f": "14 July 2026 08:30 CEST",
        "F": "Tuesday 14 July 2026 08:30 CEST",
        "R": "5 months ago",
    }
    for style, expected in styles.items():
        assert discord_text(f"<t:{summer}:{style}>", screen).plain == expected, style
    assert discord_text(f"<t:{summer}>", screen).plain == styles["f"]  # Discord's default
    # Another viewer, another zone: the same message, their own local time.
    new_york = Screen(NOW, tz=ZoneInfo("America/New_York"))
    assert discord_text(f"<t:{next_run}:t>", new_york).plain == "03:00 EST"


def test_timestamps_out_of_range_stay_as_written() -> None:
    assert discord_text("<t:99999999999999>", Screen(NOW)).plain == "<t:99999999999999>"


@pytest.mark.parametrize(
    ("delta", "phrase"),
    [
        (timedelta(seconds=10), "in a few seconds"),
        (timedelta(seconds=-10), "a few seconds ago"),
        (timedelta(seconds=60), "in a minute"),
        (timedelta(minutes=5), "in 5 minutes"),
        (timedelta(minutes=-5), "5 minutes ago"),
        (timedelta(minutes=60), "in an hour"),
        (timedelta(hours=-2), "2 hours ago"),
        (timedelta(hours=20), "in 20 hours"),
        (timedelta(hours=24), "in a day"),
        (timedelta(days=-3), "3 days ago"),
        (timedelta(days=30), "in a month"),
        (timedelta(days=46), "in 2 months"),
        (timedelta(days=400), "in a year"),
        (timedelta(days=-3 * 365), "3 years ago"),
    ],
)
def test_relative_time_reads_as_discord_says_it(delta: timedelta, phrase: str) -> None:
    assert relative_time(NOW + delta, NOW) == phrase


def test_the_relative_time_follows_the_bots_clock_not_the_wall_clock() -> None:
    moment = unix(datetime(2026, 12, 4, 8, 0, tzinfo=UTC))
    later = Screen(datetime(2026, 12, 4, 8, 0, 30, tzinfo=UTC), tz=PARIS)
    assert discord_text(f"<t:{moment}:R>", later).plain == "a few seconds ago"


def test_related_coverage_is_readable_text_with_its_host() -> None:
    article = Article(
        id="id-1",
        title="Researchers find *test questions* in public training sets",
        url="https://researchdigest.example.org/2026/10/reasoning-benchmark-contamination",
        excerpt="A team found __hundreds__ of questions, with answers, in web scrapes.",
        published_at=datetime(2026, 10, 17, 23, 30, tzinfo=UTC),
        provider=Provider("Example Research Digest"),
        topics=("AI Research",),
        related=(
            RelatedCoverage(
                "Benchmark contamination, explained",
                "https://www.mlnotes.example.org/explainers/2026/10/benchmark-contamination",
                provider=Provider("Example ML_Notes*"),
            ),
            RelatedCoverage(
                "What contamination means",
                "https://blog.example.com/" + "long-path/" * 12,
                provider=Provider("Example Blog"),
            ),
        ),
    )
    embed = article_embed(article).to_dict()
    assert "\\*" in embed["fields"][0]["value"]  # what the card holds: Markdown, escaped

    out = shown(render_card(embed, Screen(NOW, tz=PARIS)))

    assert (
        "Also covered by: Example ML_Notes* (mlnotes.example.org) · Example Blog (blog.example.com)"
    ) in out
    assert "](" not in out and "\\" not in out
    assert "Researchers find *test questions* in public training sets" in out
    assert "A team found __hundreds__ of questions" in out
    assert "Example Research Digest · 2026-10-18" in out  # the viewer's local date


def test_escapes_and_mentions_show_as_written() -> None:
    screen = Screen(NOW, channels={42: "ai-news"})
    text = discord_text("**Bold\\*** <#42> \\_under\\_ <\u200bt:1> `abc`\n-# small", screen)
    assert text.plain == "Bold* #ai-news _under_ <t:1> abc\nsmall"


def test_a_digest_shows_each_messages_content_above_its_cards() -> None:
    """Discord draws a message's content (header, "+N more", a video link, the marker) first,
    then its embeds; a digest in two messages is two such blocks."""
    first = StoredArticle(
        Article(
            id="id-1",
            title="Small language models on phones",
            url="https://techdaily.example.com/2026/11/small-language-models-on-phones",
            topics=("Large Language Models",),
        ),
        "story-1",
    )
    watch = "https://video.example.com/watch?v=Zx9aYc1uQ2E"
    video = StoredArticle(
        Article(
            id="id-2",
            title="A robot folds laundry, on video",
            url=watch,
            type="video",
            video_url=watch,
            topics=("Large Language Models",),
        ),
        "story-2",
    )
    parts = compose_digest(
        [first, video],
        {"Large Language Models": 5},
        topic_names=["Large Language Models"],
        local_now=NOW.astimezone(PARIS),
    )
    assert len(parts) == 2
    screen = Screen(NOW, tz=PARIS)
    out = "".join(
        shown(line)
        for number, part in enumerate(parts)
        for line in message_lines(
            "bot",
            with_marker(part.text, "abc123abc123", number, len(parts)),
            [embed.to_dict() for embed in part_embeds(part)],
            screen,
        )
    )

    order = [
        "bot: AI news digest — Thursday 3 December 2026 · 2 new articles on Large Language Models",
        "digest ref abc123abc123 · 1/2",
        "Small language models on phones",
        "bot: +5 more on Large Language Models — /news shows them",
        watch,
        "digest ref abc123abc123 · 2/2",
        "A robot folds laundry, on video",
    ]
    positions = [out.find(line) for line in order]
    assert -1 not in positions, [line for line, at in zip(order, positions, strict=True) if at < 0]
    assert positions == sorted(positions)
    assert out.count("╭") == 2 and out.index("╭") > positions[1]
    assert "**" not in out and "`" not in out and "-#" not in out
