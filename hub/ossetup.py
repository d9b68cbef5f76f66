"""Operating-system set-up done as root: system users and traversable paths."""

from __future__ import annotations

import logging
import os
import pwd
import stat
import subprocess
from pathlib import Path

log = logging.getLogger("sdl")

#: The platform's own OS accounts are `_sdl-<part>`; user accounts never start so
#: (`hub.accounts`), so no user name can map onto one.
PLATFORM_ACCOUNT_PREFIX = "_sdl-"
#: Platform accounts of earlier versions, inside the users' namespace: never given to a user.
LEGACY_PLATFORM_ACCOUNTS = frozenset({"sdl-postgres"})


def platform_account(part: str) -> str:
    """The name of the platform's own OS account for `part` (e.g. `postgres`)."""
    return PLATFORM_ACCOUNT_PREFIX + part


def ensure_system_user(name: str, home: Path | None = None) -> pwd.struct_passwd:
    """The OS user `name`, created (no login password, own group) if missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    command = ["useradd", "--user-group"]
    if home:
        command += ["--shell", "/bin/bash", "--home-dir", str(home), "--no-create-home"]
    else:  # a service account: nobody logs in as it
        command += ["--system", "--shell", "/usr/sbin/nologin"]
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


def private_file(path: Path) -> Path:
    """`path` readable by its owner only (0600), created empty if missing.

    For the platform's state and logs (user names, token hashes, ports): workspaces run
    as other OS users on the same machine and must not read them.
    """
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    path.chmod(0o600)  # files made by earlier versions were 0644
    return path
