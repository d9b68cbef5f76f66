"""The embedded platform's data dir: its folders, with the permissions the OS needs to
keep users apart, and the published templates."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from hub.ossetup import make_traversable, private_file
from hub.settings import Settings

#: Folders only the platform may enter: the hub's state and the logs.
PRIVATE_DIRS = ("hub", "logs")


def prepare_data_dir(settings: Settings) -> None:
    """Folders with the permissions the OS needs to keep users apart."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("hub", "logs", "run", "homes"):
        (data_dir / sub).mkdir(exist_ok=True)
    data_dir.chmod(0o755)
    (data_dir / "homes").chmod(0o711)
    for private in PRIVATE_DIRS:  # the hub's database and every log: the platform's only
        (data_dir / private).chmod(0o700)
    private_file(data_dir / "hub" / "jupyterhub.sqlite")  # SQLite takes an empty file
    archive = settings.archive
    archive.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # workspaces run as other users: they must reach homes, the archive and Python
        make_traversable(data_dir)
        make_traversable(archive)
        make_traversable(Path(sys.executable).resolve().parent)
        archive.chmod(0o755)  # owned by root: readable by all, writable by the admin side only
    else:
        archive.chmod(0o555)  # single-user fallback: read-only by mode, as far as it goes
    publish_templates(settings)


def publish_templates(settings: Settings) -> None:
    """Copy the templates into the data dir, where every workspace user can read them."""
    target = settings.data_dir / "templates"
    staging = settings.data_dir / "templates.new"
    shutil.rmtree(staging, ignore_errors=True)
    if settings.templates.source.is_dir():
        shutil.copytree(settings.templates.source, staging)
    else:
        staging.mkdir()
    for path in [staging, *staging.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
