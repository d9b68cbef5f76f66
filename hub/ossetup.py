"""Operating-system set-up done as root: system users and traversable paths."""

from __future__ import annotations

import logging
import pwd
import stat
import subprocess
from pathlib import Path

log = logging.getLogger("sdl")


def ensure_system_user(name: str, home: Path | None = None) -> pwd.struct_passwd:
    """The OS user `name`, created (no login password, own group) if missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    command = ["useradd", "--user-group", "--shell", "/bin/bash"]
    command += ["--home-dir", str(home), "--no-create-home"] if home else ["--system"]
    result = subprocess.run([*command, name], capture_output=True, text=True)
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise RuntimeError(f"useradd {name} failed: {result.stderr.strip()}")
    return pwd.getpwnam(name)


def make_traversable(path: Path) -> None:
    """Let other users pass through every folder above `path` (o+x, nothing more).

    Workspaces run as their own OS users and must reach the Python interpreter and the
    PostgreSQL binaries, which may sit below a 0700 home such as /root.
    """
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.warning("making %s traversable by other users (o+x)", folder)
            folder.chmod(mode | stat.S_IXOTH)
