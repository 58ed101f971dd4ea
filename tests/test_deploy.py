"""The systemd unit: what its install steps and settings promise an operator."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ainews.__main__ import EXIT_USAGE
from ainews.settings import Settings
from tests.helpers import CHECKOUT

UNIT = Path(CHECKOUT) / "deploy" / "ainews.service"
#: The template: one instance per shard range (ainews@0-3 holds shards 0 to 3).
TEMPLATE = Path(CHECKOUT) / "deploy" / "ainews@.service"
POSTGRES = {"DATABASE_URL": "postgresql://ainews@db.example.org/ainews"}


def unit(path: Path = UNIT) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def install_steps(path: Path = UNIT) -> list[str]:
    return [
        line.removeprefix("#").strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("#   ")
    ]


def test_a_refused_setting_is_not_restarted_forever() -> None:
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == str(EXIT_USAGE)


def test_the_working_folder_holds_the_settings_and_the_database() -> None:
    service = unit()["Service"]
    assert service["WorkingDirectory"] == "/srv/ainews"
    assert service["ExecStart"] == "/srv/ainews/venv/bin/ainews run"
    assert "/srv/ainews" in service["ReadWritePaths"].split()


def test_the_install_steps_build_a_wheel_and_keep_the_token_private() -> None:
    steps = install_steps()
    assert any("pip wheel --no-deps --wheel-dir dist ." in step for step in steps)
    assert "sudo /srv/ainews/venv/bin/pip install dist/ai_news_bot-*.whl" in steps
    assert not any("pip install /" in step or "pip install ." in step for step in steps)
    assert "sudo install -o ainews -g ainews -m 0600 .env.example /srv/ainews/.env" in steps
    assert not any(" cp .env" in step for step in steps)


def test_each_instance_of_the_template_holds_the_shards_it_is_named_after() -> None:
    service = unit(TEMPLATE)["Service"]
    assert service["Environment"] == "SHARD_IDS=%i"
    # SHARD_COUNT and DATABASE_URL are every instance's: they come from the shared .env.
    assert "SHARD_COUNT" not in service["Environment"]
    assert "DATABASE_URL" not in service["Environment"]
    assert "EnvironmentFile" not in service


def test_the_template_runs_the_bot_as_the_single_unit_does() -> None:
    single, template = unit()["Service"], unit(TEMPLATE)["Service"]
    assert template["ExecStart"] == single["ExecStart"] == "/srv/ainews/venv/bin/ainews run"
    assert (template["User"], template["Group"]) == ("ainews", "ainews")
    assert template["WorkingDirectory"] == single["WorkingDirectory"] == "/srv/ainews"
    # Hardening, restart policy and stop timeout are the single unit's, line for line.
    assert {k: v for k, v in template.items() if k != "Environment"} == dict(single)
    assert unit(TEMPLATE)["Install"]["WantedBy"] == "multi-user.target"


def test_the_instances_the_template_enables_hold_every_shard_once() -> None:
    enable = next(s for s in install_steps(TEMPLATE) if "systemctl enable --now ainews@" in s)
    instances = re.findall(r"ainews@(\S+)", enable)
    assert instances == ["0-3", "4-7", "8-11", "12-15"]
    held: list[int] = []
    for instance in instances:
        shards = Settings.from_values(
            {"SHARD_COUNT": "16", "SHARD_IDS": instance, **POSTGRES}
        ).shards
        assert shards is not None and shards.count == 16
        held += shards.ids
    assert sorted(held) == list(range(16))


def _verify(unit_file: Path, name: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` of ``unit_file`` as unit ``name``, in a root of its own that
    has the program ExecStart names (verify refuses a unit whose command does not exist) and
    the system's own units (its dependencies)."""
    system_units = next(
        path
        for path in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))
        if path.is_dir()
    )
    program = tmp_path / "srv/ainews/venv/bin/ainews"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    shutil.copytree(system_units, tmp_path / "usr/lib/systemd/system", symlinks=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(unit_file, tmp_path / "etc/systemd/system" / unit_file.name)
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", f"--root={tmp_path}", name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
@pytest.mark.parametrize(
    ("unit_file", "name"), [(UNIT, "ainews.service"), (TEMPLATE, "ainews@0-3.service")]
)
def test_systemd_accepts_the_units(unit_file: Path, name: str, tmp_path: Path) -> None:
    verified = _verify(unit_file, name, tmp_path)
    # A key systemd does not know or cannot parse is only a warning: none is allowed.
    assert (verified.returncode, verified.stderr) == (0, "")
