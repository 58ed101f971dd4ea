"""Settings from the environment and ``.env``: defaults, precedence, validation, no leaked token."""

from __future__ import annotations

import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from ainews.settings import (
    DISCORD_API_BASE,
    DISCORD_GATEWAY_URL,
    MAX_RESCAN_SECONDS,
    SAMPLE_CORPUS,
    Settings,
    SettingsError,
    log_level_number,
)

TOKEN = "MTIzNDU2Nzg5.not-a-real-token.s3cr3t-value"


def test_defaults(clean_env: Path) -> None:
    settings = Settings.load()

    assert settings.news_dir == SAMPLE_CORPUS
    assert any(SAMPLE_CORPUS.glob("*.md")), "the bundled sample corpus ships with the package"
    assert settings.database_path.parts[0] == "data"
    assert not settings.database_path.is_absolute(), "under ./data of the working directory"
    assert settings.news_rescan_seconds == 300
    assert settings.news_watch is True
    assert settings.log_level == "INFO"
    assert log_level_number(settings) == 20
    assert settings.discord_token is None
    assert settings.command_guild_ids == ()
    assert (settings.discord_api_base, settings.discord_gateway_url) == (
        DISCORD_API_BASE,
        DISCORD_GATEWAY_URL,
    )


def test_dotenv_in_the_working_directory_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "# settings for the test bot\n"
        "\n"
        "DISCORD_TOKEN='quoted-token'\n"
        "export NEWS_DIR=/srv/news\n"
        'DATABASE_PATH="/var/lib/ainews/db.sqlite3"\n'
        "COMMAND_GUILD_IDS = 111, 222 ,,333\n"
        "NEWS_RESCAN_SECONDS=60   # a minute\n"
        "LOG_LEVEL=debug\n"
        "DISCORD_API_BASE=http://127.0.0.1:8080/api/v10\n"
        "DISCORD_GATEWAY_URL=ws://127.0.0.1:8080/gateway\n"
    )

    settings = Settings.load()

    assert settings.discord_token == "quoted-token"
    assert settings.news_dir == Path("/srv/news")
    assert settings.database_path == Path("/var/lib/ainews/db.sqlite3")
    assert settings.command_guild_ids == (111, 222, 333)
    assert settings.news_rescan_seconds == 60
    assert settings.log_level == "DEBUG"
    assert settings.discord_api_base == "http://127.0.0.1:8080/api/v10"
    assert settings.discord_gateway_url == "ws://127.0.0.1:8080/gateway"


def test_environment_overrides_dotenv(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text(
        "NEWS_DIR=/from/dotenv\nLOG_LEVEL=ERROR\nNEWS_RESCAN_SECONDS=60\n"
    )
    monkeypatch.setenv("NEWS_DIR", "/from/environment")
    monkeypatch.setenv("LOG_LEVEL", "warning")

    settings = Settings.load()

    assert settings.news_dir == Path("/from/environment")
    assert settings.log_level == "WARNING"
    assert settings.news_rescan_seconds == 60, "what the environment does not set comes from .env"


def test_home_is_expanded(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(clean_env))
    monkeypatch.setenv("NEWS_DIR", "~/news")

    assert Settings.load().news_dir == clean_env / "news"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISCORD_API_BASE", "ftp://discord.example.com/api"),
        ("DISCORD_API_BASE", "discord.com/api/v10"),
        ("DISCORD_API_BASE", "ws://discord.example.com/api"),
        ("DISCORD_GATEWAY_URL", "https://gateway.discord.gg/"),
        ("DISCORD_GATEWAY_URL", "wss://"),
        ("COMMAND_GUILD_IDS", "abc"),
        ("COMMAND_GUILD_IDS", "123,abc"),
        ("COMMAND_GUILD_IDS", "-5"),
        ("COMMAND_GUILD_IDS", "0"),
        ("COMMAND_GUILD_IDS", "²"),
        ("COMMAND_GUILD_IDS", "1.5"),
        ("NEWS_RESCAN_SECONDS", "0"),
        ("NEWS_RESCAN_SECONDS", "x"),
        ("NEWS_RESCAN_SECONDS", "4"),
        ("NEWS_RESCAN_SECONDS", "-300"),
        ("NEWS_RESCAN_SECONDS", "1e3"),
        ("LOG_LEVEL", "loud"),
        ("LOG_LEVEL", "verbose"),
        ("NEWS_WATCH", "maybe"),
        ("NEWS_WATCH", "2"),
    ],
)
def test_bad_value_names_the_setting_and_never_the_token(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as raised:
        Settings.load()

    message = str(raised.value)
    assert name in message
    assert TOKEN not in message and "s3cr3t" not in message


@pytest.mark.parametrize(
    ("value", "watch"),
    [
        *[("false", False), ("FALSE", False), ("no", False), ("0", False), ("off", False)],
        *[("true", True), ("True", True), ("yes", True), ("1", True), ("on", True), ("", True)],
    ],
)
def test_news_watch_is_true_or_false(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, value: str, watch: bool
) -> None:
    monkeypatch.setenv("NEWS_WATCH", value)

    assert Settings.load().news_watch is watch


def test_smallest_rescan_interval_is_accepted(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWS_RESCAN_SECONDS", "5")

    assert Settings.load().news_rescan_seconds == 5


def test_token_never_appears_in_repr(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)

    settings = Settings.load()

    assert settings.require_token() == TOKEN
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    assert "s3cr3t" not in f"{settings!r} {settings}"


def test_missing_token_is_explained(clean_env: Path) -> None:
    with pytest.raises(SettingsError, match="DISCORD_TOKEN is not set"):
        Settings.load().require_token()


def test_malformed_dotenv_names_file_and_line_but_not_its_content(clean_env: Path) -> None:
    (clean_env / ".env").write_text(f"LOG_LEVEL=INFO\n{TOKEN}\n")

    with pytest.raises(SettingsError) as raised:
        Settings.load()

    assert ".env, line 2: expected KEY=value" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_undecodable_dotenv_is_a_settings_error(clean_env: Path) -> None:
    (clean_env / ".env").write_bytes(b"DISCORD_TOKEN=\xff\xfe\n")

    with pytest.raises(SettingsError, match="cannot read"):
        Settings.load()


def test_explicit_values_skip_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "loud")

    settings = Settings.load(environ={"LOG_LEVEL": "error"}, dotenv=None)

    assert settings.log_level == "ERROR"


# ----------------------------------------------------------------- .env as operators write it


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('NEWS_DIR="/srv/news"   # the corpus', "/srv/news"),
        ("NEWS_DIR='/srv/news'# the corpus", "/srv/news"),
        ("NEWS_DIR=/srv/news # the corpus", "/srv/news"),
        ("NEWS_DIR=/srv/news\t# the corpus", "/srv/news"),
        ("export NEWS_DIR=/srv/news", "/srv/news"),
        ("export\tNEWS_DIR='/srv/news'", "/srv/news"),
        ("  NEWS_DIR = /srv/news  ", "/srv/news"),
        ("NEWS_DIR='/srv/news #1'", "/srv/news #1"),
        ('NEWS_DIR="/srv/my \\"news\\""', '/srv/my "news"'),
        ("NEWS_DIR=/srv/news#1", "/srv/news#1"),
        ("NEWS_DIR=${BASE}/news", "/srv/news"),
    ],
    ids=[
        "double-quotes-then-comment",
        "single-quotes-then-comment",
        "unquoted-then-comment",
        "tab-then-comment",
        "export",
        "export-tab-single-quotes",
        "spaces-around",
        "hash-inside-quotes",
        "escaped-quotes",
        "hash-inside-a-word",
        "expanded-variable",
    ],
)
def test_dotenv_lines_as_operators_write_them(clean_env: Path, line: str, expected: str) -> None:
    (clean_env / ".env").write_text(f"BASE=/srv\n{line}\n", encoding="utf-8")

    assert str(Settings.load().news_dir) == expected


def test_dotenv_with_windows_line_endings_and_a_byte_order_mark(clean_env: Path) -> None:
    (clean_env / ".env").write_bytes(
        b"\xef\xbb\xbfLOG_LEVEL=warning\r\nNEWS_RESCAN_SECONDS=60\r\nNEWS_DIR=/srv/news\r\n"
    )

    settings = Settings.load()

    assert (settings.log_level, settings.news_rescan_seconds) == ("WARNING", 60)
    assert settings.news_dir == Path("/srv/news")


def test_an_empty_value_in_dotenv_means_the_default(clean_env: Path) -> None:
    (clean_env / ".env").write_text('DISCORD_TOKEN=\nNEWS_DIR=""\nLOG_LEVEL=\n')

    settings = Settings.load()

    assert settings.discord_token is None
    assert settings.news_dir == SAMPLE_CORPUS
    assert settings.log_level == "INFO"


def test_a_multi_line_quoted_value_counts_its_lines(clean_env: Path) -> None:
    (clean_env / ".env").write_text('NOTE="two\nlines"\nLOG_LEVEL=error\n')

    assert Settings.load().log_level == "ERROR"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('LOG_LEVEL=INFO\nNEWS_DIR="/srv/news\n', 2),
        ("LOG_LEVEL=INFO\n\nnot a setting\n", 3),
        ("= value\n", 1),
    ],
    ids=["unterminated-quote", "words", "no-key"],
)
def test_a_line_that_is_not_a_setting_is_named(clean_env: Path, text: str, line: int) -> None:
    (clean_env / ".env").write_text(text)

    with pytest.raises(SettingsError, match=rf"\.env, line {line}: expected KEY=value$"):
        Settings.load()


def test_an_unreadable_dotenv_is_a_settings_error(clean_env: Path) -> None:
    (clean_env / ".env").mkdir()

    with pytest.raises(SettingsError, match=r"cannot read \.env: "):
        Settings.load()


# --------------------------------------------------------------------------- oversized values


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEWS_RESCAN_SECONDS", "9" * 20),
        ("NEWS_RESCAN_SECONDS", str(MAX_RESCAN_SECONDS + 1)),
        ("NEWS_RESCAN_SECONDS", "3e8"),
        ("NEWS_RESCAN_SECONDS", "٣٠٠"),  # Arabic-Indic digits: int() would take them
        ("COMMAND_GUILD_IDS", "9" * 20),
        ("COMMAND_GUILD_IDS", str(2**63)),
    ],
)
def test_oversized_values_are_refused_at_start(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError, match=name) as raised:
        Settings.load()

    assert len(str(raised.value)) < 250


def test_the_largest_values_are_accepted(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_RESCAN_SECONDS", str(MAX_RESCAN_SECONDS))
    monkeypatch.setenv("COMMAND_GUILD_IDS", str(2**63 - 1))

    settings = Settings.load()

    assert settings.news_rescan_seconds == MAX_RESCAN_SECONDS
    assert settings.command_guild_ids == (2**63 - 1,)


# --------------------------------------------------------------------------- NEWS_DIR


def test_news_dir_unset_is_the_sample_corpus(clean_env: Path) -> None:
    settings = Settings.load()

    assert settings.uses_sample_corpus
    assert settings.require_news_dir() == SAMPLE_CORPUS


def test_a_news_dir_that_exists_is_required_as_it_is(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "news").mkdir()
    monkeypatch.setenv("NEWS_DIR", "news")

    settings = Settings.load()

    assert not settings.uses_sample_corpus
    assert settings.require_news_dir() == Path("news")


def test_a_missing_news_dir_is_named_with_its_full_path(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWS_DIR", "no-such-folder")

    with pytest.raises(SettingsError) as raised:
        Settings.load().require_news_dir()

    assert str(raised.value) == (
        f"NEWS_DIR is {clean_env / 'no-such-folder'}, which does not exist: set NEWS_DIR to "
        "your corpus folder (in the environment or in .env)"
    )


def test_a_news_dir_that_is_a_file_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "notes.md").write_text("hello\n")
    monkeypatch.setenv("NEWS_DIR", str(clean_env / "notes.md"))

    with pytest.raises(SettingsError, match=r"NEWS_DIR is .*notes.md, which is a file"):
        Settings.load().require_news_dir()


NOBODY = 65534


def _as_nobody() -> None:
    """In a process started as root: become nobody, whom folder modes do bind."""
    import ainews.settings  # noqa: F401 (before dropping the rights to read it)

    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _refusal_of(news_dir: str) -> str:
    try:
        Settings(news_dir=Path(news_dir)).require_news_dir()
    except SettingsError as refusal:
        return str(refusal)
    return "accepted"


@pytest.mark.slow
def test_an_unreadable_news_dir_is_refused(tmp_path: Path) -> None:
    """Root reads any folder, so as root the check runs in a process that has become nobody."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    try:
        if os.geteuid() == 0:
            tmp_path.chmod(0o755)
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(1, mp_context=context, initializer=_as_nobody) as nobody:
                refusal = nobody.submit(_refusal_of, str(locked)).result(timeout=60)
        else:
            refusal = _refusal_of(str(locked))
    finally:
        locked.chmod(0o700)

    assert re.match(r"NEWS_DIR is .*locked, which cannot be read", refusal), refusal


def test_the_shipped_env_example_copied_to_dotenv_gives_the_defaults(clean_env: Path) -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    (clean_env / ".env").write_bytes(example.read_bytes())

    assert Settings.load() == Settings()


# Shards -----------------------------------------------------------------------------------------

PG = {"DATABASE_URL": "postgresql://bot@db.example/news"}


def test_shards_are_none_by_default_one_process_as_discord_recommends() -> None:
    assert Settings.from_values({}).shards is None


@pytest.mark.parametrize(
    ("values", "count", "ids"),
    [
        ({"SHARD_COUNT": "4"}, 4, (0, 1, 2, 3)),
        ({"SHARD_COUNT": "16", "SHARD_IDS": "0-3,8", **PG}, 16, (0, 1, 2, 3, 8)),
        ({"SHARD_COUNT": "4", "SHARD_IDS": " 3, 1-2 ,0"}, 4, (0, 1, 2, 3)),
    ],
)
def test_shard_settings_name_the_shards_this_process_holds(values, count, ids) -> None:
    shards = Settings.from_values(values).shards

    assert shards is not None and (shards.count, shards.ids) == (count, ids)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"SHARD_IDS": "0-3"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT must be a whole number of shards from 1"),
        ({"SHARD_COUNT": "four"}, "SHARD_COUNT must be a whole number"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "4", **PG}, "names shard 4, but SHARD_COUNT 4 has"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "3-1", **PG}, "goes down"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "a-b", **PG}, "not a shard id or a range"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0-1"}, "need one PostgreSQL database (DATABASE_URL)"),
    ],
)
def test_wrong_shard_settings_stop_start_up_with_the_reason(values, fragment) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_values(values)

    assert fragment in str(raised.value)


def test_a_process_serves_the_servers_of_its_shards_only() -> None:
    shards = Settings.from_values({"SHARD_COUNT": "4", "SHARD_IDS": "1,3", **PG}).shards
    assert shards is not None
    on_shard = {shard: (shard << 22) + 12345 for shard in range(4)}  # (id >> 22) % 4 == shard

    assert [shards.owns(on_shard[n]) for n in range(4)] == [False, True, False, True]
    assert shards.describe() == "1,3 of 4"
