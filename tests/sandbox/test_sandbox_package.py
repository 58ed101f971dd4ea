"""The sandbox is a package of its own: it imports nothing of the bot it hosts, and its pytest
fixtures come from an entry point, not from an import in a conftest."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest


@pytest.mark.slow
def test_the_sandbox_and_its_plugin_import_nothing_of_ainews() -> None:
    check = (
        "import sys, pkgutil, importlib, discord_sandbox\n"
        "for module in pkgutil.iter_modules(discord_sandbox.__path__):\n"
        "    importlib.import_module('discord_sandbox.' + module.name)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'ainews'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.strip() == "[]"


def test_the_pytest_plugin_is_registered_by_entry_point() -> None:
    plugins = {entry.name: entry.value for entry in entry_points(group="pytest11")}
    assert plugins.get("discord_sandbox") == "discord_sandbox.pytest_plugin"
