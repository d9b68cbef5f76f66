"""Options every `sdl` verb shares, so each acts on the same platform instance."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from hub.settings import CONFIG_ENV, load_settings


def platform_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--config` and `--data-dir`, shared by every verb, turned into `settings`."""
    wants_file = "config_file" in inspect.signature(command).parameters

    @click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, exists=True, dir_okay=False),
        envvar=CONFIG_ENV,
        help="Settings YAML merged over the built-in defaults.",
    )
    @click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="SDL_DATA_DIR",
        help="Where homes, the archive, the index and hub state live.",
    )
    @wraps(command)
    def wrapper(config_file: Path | None, data_dir: Path | None, **kwargs: Any) -> Any:
        overrides = {"data_dir": str(data_dir.absolute())} if data_dir else {}
        settings = load_settings(config_file, overrides=overrides)
        if wants_file:  # `sdl up` hands the file on to the hub
            kwargs["config_file"] = config_file
        return command(settings=settings, **kwargs)

    return wrapper
