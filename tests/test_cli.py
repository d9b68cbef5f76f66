"""The `sdl` command: help on every verb, and start-up refusing malformed files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.paths import shipped_dir
from tests.support.platform import make_data_dir


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", all_commands(cli), ids=lambda p: " ".join(p) or "sdl")
def test_every_verb_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="sdl")
    assert result.exit_code == 0, result.output
    assert "Usage: sdl" in result.output


def run_up(*args: str) -> subprocess.CompletedProcess[str]:
    data_dir = make_data_dir()
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "up", "--data-dir", str(data_dir), "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_up_refuses_a_malformed_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "sdl.yaml"
    config.write_text("hub:\n  port: eighty\n")
    result = run_up("--config", str(config))
    assert result.returncode == 2
    assert f"{config}: hub.port: Input should be a valid integer" in result.stderr


def test_up_refuses_a_malformed_profile_before_starting_anything(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for source in shipped_dir("spawner_profiles").glob("*.yaml"):
        (profiles / source.name).write_text(source.read_text())
    broken = profiles / "large.yaml"
    broken.write_text(broken.read_text().replace("mem_limit: 32Gi", "mem_limit: 32 GB"))
    config = tmp_path / "sdl.yaml"
    config.write_text(f"profiles_dir: {profiles}\n")
    result = run_up("--config", str(config))
    assert result.returncode == 2
    assert f"{broken}: mem_limit: '32 GB' is not a size" in result.stderr
    assert "starting" not in result.stderr


def test_config_show_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_SHARED_PASSWORD", "very-secret-pw")
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 0
    assert "very-secret-pw" not in result.output
    assert '"shared_password": "***"' in result.output


@pytest.mark.parametrize(
    ("variable", "password", "expected"),
    [
        (
            "SDL_ADMIN_PASSWORD",
            "admin-pw-of-31-characters-xxxxx",
            "auth.admin_password: must be at least 32 characters, not 31",
        ),
        ("SDL_SHARED_PASSWORD", "seven77", "auth.shared_password: must be at least 8 characters"),
    ],
)
def test_short_passwords_stop_config_check_and_up_before_anything_is_written(
    variable: str, password: str, expected: str
) -> None:
    env = {**os.environ, variable: password}
    check = subprocess.run(
        [sys.executable, "-m", "hub.cli", "config", "check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert check.returncode == 2
    assert expected in check.stderr
    data_dir = make_data_dir()
    up = subprocess.run(
        [sys.executable, "-m", "hub.cli", "up", "--data-dir", str(data_dir), "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert up.returncode == 2
    assert expected in up.stderr
    assert "Traceback" not in up.stderr
    assert password not in up.stderr + check.stderr  # a password is never printed
    assert list(data_dir.iterdir()) == []  # nothing initialised
