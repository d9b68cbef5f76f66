"""Where the files this package ships live, installed or in a source checkout."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent

# In a wheel the folders are copied under hub/_shipped; in a checkout they are top-level.
_SHIPPED = {
    "spawner_profiles": ("_shipped/spawner_profiles", "../spawner_profiles"),
    "templates": ("_shipped/templates", "../notebooks/templates"),
}


def shipped_dir(name: str) -> Path:
    """The folder `name` ('spawner_profiles' or 'templates') as shipped with this package."""
    for relative in _SHIPPED[name]:
        candidate = (PACKAGE_DIR / relative).resolve()
        if candidate.is_dir():
            return candidate
    return (PACKAGE_DIR / _SHIPPED[name][-1]).resolve()


def default_data_dir() -> Path:
    """A system path as root (homes must be reachable by other users), else per-user."""
    if os.geteuid() == 0:
        return Path("/var/lib/sdl")
    return Path.home() / ".local" / "share" / "sdl"
