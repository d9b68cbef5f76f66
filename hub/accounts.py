"""Platform user names → OS account names that are valid, unique and recognisable.

User accounts (`sdl-<name>`) and the platform's own accounts (`_sdl-<part>`, e.g. the one
PostgreSQL runs as) live in separate namespaces, and an existing account is used for a
user only if we made it for that user (its comment says so): a user named `postgres`
or `root` never gets the OS rights of an account that is not theirs.
"""

from __future__ import annotations

import hashlib
import pwd
import re
import subprocess
import threading
import time
from pathlib import Path

from hub.errors import SdlError
from hub.ossetup import LEGACY_PLATFORM_ACCOUNTS, PLATFORM_ACCOUNT_PREFIX

_MAX = 32  # useradd's limit
_MARK = "Space Data Lab user"  # the GECOS comment of the accounts made for users


class AccountError(SdlError):
    """An OS account exists under a user's account name but is not that user's."""


def _reserved(account: str) -> bool:
    return account.startswith(PLATFORM_ACCOUNT_PREFIX) or account in LEGACY_PLATFORM_ACCOUNTS


def os_username(name: str, prefix: str = "sdl-") -> str:
    """`alice` → `sdl-alice`; names with other characters get a short hash to stay unique.

    A name that would land on a platform account (`postgres` → `sdl-postgres`, the
    embedded PostgreSQL's account before it moved to `_sdl-postgres`) gets the hash too.
    """
    safe = re.sub(r"[^a-z0-9_-]", "-", name.lower()).strip("-") or "user"
    if safe != name or len(prefix + safe) > _MAX or _reserved(prefix + safe):
        digest = hashlib.sha256(name.encode()).hexdigest()[:6]
        safe = f"{safe[: _MAX - len(prefix) - 7]}-{digest}"
    return prefix + safe


def home_folder(username: str) -> str:
    """The name of `username`'s home folder in a data dir's `homes/`: the same whatever
    the account prefix (`alice` → `alice`; other names get the hash, as accounts do)."""
    return os_username(username, "sdl-").removeprefix("sdl-")


def account_comment(username: str) -> str:
    """What the account's GECOS field says: made by us, for this platform user."""
    return f"{_MARK} {hashlib.sha256(username.encode()).hexdigest()[:16]}"


def _is_legacy_user_account(entry: pwd.struct_passwd) -> bool:
    """Made for a user by a version before the comment: no comment, a normal uid, and
    its home in a data dir's `homes/` (platform accounts are system accounts)."""
    return (
        entry.pw_gecos == "" and entry.pw_uid >= 1000 and Path(entry.pw_dir).parent.name == "homes"
    )


def check_user_account(entry: pwd.struct_passwd, username: str, home: Path | None = None) -> None:
    """Refuse an existing account that was not made for `username` or, given `home`, was
    made for the user of the same name on another platform on this machine (its home is
    elsewhere): sharing it would let either platform's user write the other's home."""
    if entry.pw_uid == 0 or not (
        entry.pw_gecos == account_comment(username) or _is_legacy_user_account(entry)
    ):
        raise AccountError(
            f"the OS account {entry.pw_name!r} already exists and was not made by Space Data "
            f"Lab for user {username!r}, so it is not used for their workspace; an admin "
            "must rename that account, or choose another `os_user_prefix`"
        )
    if home is not None and Path(entry.pw_dir).resolve() != home.resolve():
        raise AccountError(
            f"the OS account {entry.pw_name!r} belongs to the user {username!r} of another "
            f"Space Data Lab platform on this machine (its home is {entry.pw_dir}, not "
            f"{home}), so it is not used here; give each platform its own "
            "`hub.os_user_prefix` (or, if this platform's data dir has moved, "
            f"`usermod --home {home} {entry.pw_name}`)"
        )


_useradd_lock = threading.Lock()  # one useradd at a time in this process
_LOCKED = "cannot lock"  # useradd's word when another process holds /etc/passwd


def _useradd(command: list[str], attempts: int = 20) -> subprocess.CompletedProcess[str]:
    """useradd, one at a time: concurrent ones fail with "cannot lock /etc/passwd; try
    again later" (a workshop's first spawns all make accounts at once). Another process
    may hold the lock too (an admin's `useradd`), so a locked file is retried."""
    delay = 0.05
    for _ in range(attempts):
        with _useradd_lock:
            result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode == 0 or _LOCKED not in result.stderr:
            return result
        time.sleep(delay)
        delay = min(delay * 2, 1.0)
    return result


def ensure_user_account(account: str, username: str, home: Path) -> pwd.struct_passwd:
    """`username`'s OS account: checked if it exists, else created (marked as theirs)."""
    try:
        entry = pwd.getpwnam(account)
    except KeyError:
        entry = None
    if entry is not None:
        check_user_account(entry, username, home)
        if entry.pw_gecos == "":  # a legacy account: mark it, so the next check is exact
            subprocess.run(
                ["usermod", "--comment", account_comment(username), account],
                check=True,
                capture_output=True,
            )
        return entry
    command = [
        "useradd",
        "--user-group",
        "--shell",
        "/bin/bash",
        "--home-dir",
        str(home),
        "--no-create-home",
        "--comment",
        account_comment(username),
        account,
    ]
    result = _useradd(command)
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise AccountError(f"useradd {account} failed: {result.stderr.strip()}")
    entry = pwd.getpwnam(account)
    check_user_account(entry, username, home)  # another spawn may have made it first
    return entry
