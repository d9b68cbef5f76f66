"""The `sdl` command. Thin: every verb parses options and delegates to a module."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from hub import __version__
from hub.archive.table import status_cmd
from hub.cli_options import platform_options
from hub.data.cli import data
from hub.errors import SdlError
from hub.kube.cli import profiles, render
from hub.profiles import load_profiles
from hub.quotas.cli import quota
from hub.reference import configuration_reference
from hub.settings import Settings
from hub.workshops.cli import workshop

console = Console(stderr=True)


class SdlGroup(click.Group):
    """Turns platform errors into one clear message and exit code 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SdlError as exc:
            message = f"[bold red]error:[/] {escape(str(exc))}"
            console.print(message, highlight=False, soft_wrap=True)
            sys.exit(2)


@click.group(cls=SdlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sdl")
def cli() -> None:
    """Space Data Lab: a JupyterHub platform for Earth-observation research."""


@cli.command()
@platform_options
@click.option("--ip", help="Address browsers connect to (default: settings hub.ip).")
@click.option("--port", type=int, help="Port browsers connect to (default: settings hub.port).")
@click.option("--sample/--no-sample", default=True, help="Index the sample cube on first start.")
def up(
    settings: Settings, config_file: Path | None, ip: str | None, port: int | None, sample: bool
) -> None:
    """Start the platform on this machine, in the foreground (Ctrl-C stops it)."""
    # `up` alone runs the platform: its modules (JupyterHub, PostgreSQL) stay out of
    # every other verb's start-up
    from hub.banner import login_help
    from hub.local import start_platform
    from hub.supervise import run_until_stopped

    if ip is not None or port is not None:
        hub = settings.hub.model_copy(
            update={k: v for k, v in {"ip": ip, "port": port}.items() if v is not None}
        )
        settings = settings.model_copy(update={"hub": hub})

    def say(message: str) -> None:
        console.print(f"[cyan]sdl[/] {message}", highlight=False)

    platform = start_platform(settings, config_file, say, with_sample=sample)
    console.print(f"\n[bold green]Space Data Lab is up:[/] {platform.runtime.public_url}")
    for line in login_help(settings):
        console.print(f"  {line}", highlight=False)
    console.print(f"  Logs: {settings.data_dir / 'logs'}   Stop: Ctrl-C\n", highlight=False)
    sys.exit(run_until_stopped(platform, say))


@cli.group()
def config() -> None:
    """Inspect the settings document."""


@config.command("show")
@platform_options
def config_show(settings: Settings, config_file: Path | None) -> None:
    """Print the effective settings (defaults + file + environment), secrets hidden."""
    document = settings.model_dump(mode="json")
    for key in ("shared_password", "admin_password"):
        if document["auth"][key]:
            document["auth"][key] = "***"
    if document["auth"]["oidc"]["client_secret"]:
        document["auth"]["oidc"]["client_secret"] = "***"
    click.echo(json.dumps(document, indent=2))


@config.command("check")
@platform_options
def config_check(settings: Settings, config_file: Path | None) -> None:
    """Validate the settings and every profile file; exit non-zero naming what is wrong."""
    profiles = load_profiles(settings.profiles_dir)
    click.echo(
        f"settings OK ({config_file or 'built-in defaults'}); "
        f"{len(profiles)} profiles: {', '.join(p.slug for p in profiles)}"
    )


@config.command("reference")
def config_reference() -> None:
    """Print the configuration reference (Markdown), generated from the settings model."""
    click.echo(configuration_reference(), nl=False)


@profiles.command("list")
@platform_options
def profiles_list(settings: Settings, config_file: Path | None) -> None:
    """List the profiles and who may use them."""
    for profile in load_profiles(settings.profiles_dir):
        who = ", ".join(profile.groups) or "everyone"
        click.echo(f"{profile.slug:10} {profile.summary():28} {who}")


# verbs that live beside their modules
for command in (data, profiles, quota, render, workshop):
    cli.add_command(command)
# `sdl data status` lives with the archive's map (hub.data may not import hub.archive)
data.add_command(status_cmd)


def main() -> None:
    cli(prog_name="sdl")


if __name__ == "__main__":
    main()
