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
from pathlib import Path

import pytest
import yaml
from rich.console import Console

import ainews.tree
from ainews.demo import play_tour
from ainews.settings import SAMPLE_CORPUS
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
