"""Secrets the platform makes for itself, kept in `<data_dir>/secrets` (0700, files 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class SecretStore:
    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "secrets"

    def path(self, name: str) -> Path:
        return self.folder / name

    def get(self, name: str, *, nbytes: int = 32) -> str:
        """The secret `name`, created on first use (URL-safe text of `nbytes` random bytes)."""
        path = self.path(name)
        if path.exists():
            return path.read_text().strip()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        value = secrets.token_urlsafe(nbytes)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        return value

    def get_hex(self, name: str, *, nbytes: int = 32) -> str:
        """Like `get`, but hex (JupyterHub's cookie secret file wants hex)."""
        path = self.path(name)
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            self.folder.chmod(0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(nbytes) + "\n")
        return path.read_text().strip()
