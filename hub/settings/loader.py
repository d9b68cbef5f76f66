"""Loading the settings document: defaults, the YAML file, CLI overrides, the environment.

Errors name the file, the field and what is allowed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.errors import SettingsError, format_validation_error
from hub.settings.document import Settings
from hub.yamlio import parse_yaml_mapping, read_yaml_mapping

#: Environment variables that override secrets and admins from the file.
ENV_OVERRIDES = {
    "SDL_ADMIN_PASSWORD": ("auth", "admin_password"),
    "SDL_SHARED_PASSWORD": ("auth", "shared_password"),
    "SDL_ADMIN_USERS": ("auth", "admin_users"),
    "SDL_OIDC_CLIENT_SECRET": ("auth", "oidc", "client_secret"),
    "SDL_DATABASE_URL": ("database", "url"),
}


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Return base with over merged in; nested mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """The part of the settings document that comes from SDL_* variables."""
    document: dict[str, Any] = {}
    for variable, path in ENV_OVERRIDES.items():
        if environ.get(variable):
            node = document
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = environ[variable]
    return document


def load_settings(
    config_file: Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Defaults, then `config_file`, then `overrides` (CLI flags), then the environment."""
    if config_file is None:
        return _layered({}, "built-in defaults", overrides, environ)
    return _layered(read_yaml_mapping(config_file), str(config_file), overrides, environ)


def load_settings_text(
    text: str,
    source: str,
    *,
    overrides: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The settings document as YAML text (e.g. an environment variable), loaded as a file."""
    return _layered(parse_yaml_mapping(text, source), source, overrides, environ)


def _layered(
    document: dict[str, Any],
    source: str,
    overrides: dict[str, Any] | None,
    environ: Mapping[str, str] | None,
) -> Settings:
    document = deep_merge(document, overrides or {})
    document = deep_merge(document, env_overrides(dict(os.environ if environ is None else environ)))
    return settings_from_dict(document, source)


def settings_from_dict(document: dict[str, Any], source: str = "settings") -> Settings:
    """Validate an in-memory settings document (tests, the hub config)."""
    try:
        return Settings.model_validate(document)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(source, exc)) from exc
