"""The systemd unit: what its install steps and settings promise an operator."""

from __future__ import annotations

import configparser
from pathlib import Path

from ainews.__main__ import EXIT_USAGE
from tests.helpers import CHECKOUT

UNIT = Path(CHECKOUT) / "deploy" / "ainews.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def install_steps() -> list[str]:
    return [
        line.removeprefix("#").strip()
        for line in UNIT.read_text(encoding="utf-8").splitlines()
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
