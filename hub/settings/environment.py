"""How any process finds its settings: one variable names the settings document.

`SDL_CONFIG` is the path to the document: what `sdl --config` reads, what the hub hands
its services, what the hub pod mounts from a ConfigMap. `SDL_SETTINGS_YAML` holds the
document itself, for the one pod that cannot mount a file: the dask-gateway chart's API
pod takes no extra volumes, only `gateway.env` (a `configMapKeyRef`). Setting both is an
error, since the two could silently disagree. `SDL_DATA_DIR` and `SDL_MODE` name the
platform instance, as `--data-dir` does; the SDL_* secrets override as everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.errors import SettingsError
from hub.settings.document import Settings
from hub.settings.loader import deep_merge, load_settings, load_settings_text

#: The path of the settings document.
CONFIG_ENV = "SDL_CONFIG"
#: The settings document as text, where no file can be mounted (the gateway's API pod).
CONFIG_TEXT_ENV = "SDL_SETTINGS_YAML"


def settings_from_environment(
    environ: Mapping[str, str] | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    default_file: Path | None = None,
) -> Settings:
    """The settings this process's environment names (`default_file` when none does).

    `overrides` win over SDL_DATA_DIR / SDL_MODE; the SDL_* secrets win over both.
    """
    env = dict(os.environ if environ is None else environ)
    path, text = env.get(CONFIG_ENV, ""), env.get(CONFIG_TEXT_ENV, "")
    if path and text:
        raise SettingsError(
            f"both {CONFIG_ENV} ({path}) and {CONFIG_TEXT_ENV} are set; set only one: "
            f"{CONFIG_ENV} names the settings file, {CONFIG_TEXT_ENV} holds the document "
            "itself where no file can be mounted"
        )
    instance: dict[str, Any] = {}
    if env.get("SDL_DATA_DIR"):
        instance["data_dir"] = env["SDL_DATA_DIR"]
    if env.get("SDL_MODE"):
        instance["mode"] = env["SDL_MODE"]
    layered = deep_merge(instance, overrides or {})
    if text:
        return load_settings_text(text, CONFIG_TEXT_ENV, overrides=layered, environ=env)
    config_file = Path(path) if path else default_file
    return load_settings(config_file, overrides=layered, environ=env)
